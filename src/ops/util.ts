import type { FloatArray } from '../kernels/types.js';
import { allocate, Tensor } from '../tensor/tensor.js';
import { formatShape, sizeOf, stridesOf, type Shape } from '../tensor/shape.js';
import { describeValue } from '../describe.js';

/** Checks that every tensor is floating point and of one dtype; returns that dtype. */
export function floatDtype(op: string, ...tensors: Tensor[]): 'float32' | 'float64' {
  const dtype = tensors[0].dtype;
  for (const t of tensors) {
    if (t.dtype === 'int64') throw new TypeError(`${op}: expected a floating point tensor (got dtype int64)`);
    if (t.dtype !== dtype) {
      throw new TypeError(`${op}: expected all tensors to have the same dtype (got ${dtype} and ${t.dtype})`);
    }
  }
  return dtype as 'float32' | 'float64';
}


/**
 * Checks an op's tensor arguments before anything reads them, in PyTorch's words:
 * "relu(): argument 'input' (position 1) must be Tensor, not Array". `args` lists them in the
 * op's order; a name in `optional` may also be null or undefined.
 */
export function expectTensors(fn: string, args: Record<string, unknown>, optional: readonly string[] = []): void {
  let position = 0;
  for (const name in args) {
    position++;
    const value = args[name];
    if (value instanceof Tensor || (value == null && optional.includes(name))) continue;
    throw new TypeError(`${fn}(): argument '${name}' (position ${position}) must be Tensor, not ${describeValue(value)}`);
  }
}

/**
 * The operands of a binary op (`fn`: 'add', ...) as tensors: a number becomes a 0-d constant of
 * the other operand's dtype; anything else is an error naming the argument.
 */
export function operands(fn: string, input: Tensor | number, other: Tensor | number): [Tensor, Tensor] {
  const check = (value: unknown, name: string, position: number): void => {
    if (!(value instanceof Tensor) && typeof value !== 'number') {
      throw new TypeError(`${fn}(): argument '${name}' (position ${position}) must be Tensor or number, not ${describeValue(value)}`);
    }
  };
  check(input, 'input', 1);
  check(other, 'other', 2);
  if (input instanceof Tensor) return [input, asTensor(other, input)];
  if (other instanceof Tensor) return [asTensor(input, other), other];
  throw new TypeError(`${fn}(): expected at least one Tensor argument (got number and number)`);
}

/** A scalar operand becomes a 0-d constant of the other operand's dtype. */
export function asTensor(value: Tensor | number, like: Tensor): Tensor {
  if (value instanceof Tensor) return value;
  if (typeof value !== 'number') throw new TypeError(`expected a Tensor or a number (got ${describeValue(value)})`);
  const data = allocate(like.dtype === 'int64' ? 'float64' : like.dtype, 1);
  data[0] = value;
  return new Tensor(data, []);
}

/** A new tensor of the given shape and float dtype, uninitialised (zeros). */
export function empty(shape: Shape, dtype: 'float32' | 'float64'): Tensor {
  return new Tensor(allocate(dtype, sizeOf(shape)), shape, dtype);
}

/**
 * For each element of a tensor of shape `outShape` (row-major), the offset of the element it
 * reads in a tensor whose dimension d advances by `strides[d]` (0 for a broadcast dimension).
 */
export function stridedOffsets(outShape: Shape, strides: readonly number[]): Int32Array {
  const nd = outShape.length;
  const size = sizeOf(outShape);
  const offsets = new Int32Array(size);
  const index = new Array<number>(nd).fill(0);
  let offset = 0;
  for (let o = 0; o < size; o++) {
    offsets[o] = offset;
    for (let d = nd - 1; d >= 0; d--) {
      index[d]++;
      offset += strides[d];
      if (index[d] < outShape[d]) break;
      offset -= strides[d] * outShape[d];
      index[d] = 0;
    }
  }
  return offsets;
}

/** Offsets into a tensor of shape `inShape` broadcast to `outShape`. */
export function broadcastOffsets(outShape: Shape, inShape: Shape): Int32Array {
  const lead = outShape.length - inShape.length;
  const inStrides = stridesOf(inShape);
  const strides = outShape.map((_, d) => (d < lead || inShape[d - lead] === 1 ? 0 : inStrides[d - lead]));
  return stridedOffsets(outShape, strides);
}

/** Sums a gradient of shape `outShape` down to the shape `inShape` it was broadcast from. */
export function sumToShape(grad: FloatArray, outShape: Shape, inShape: Shape, dtype: 'float32' | 'float64'): FloatArray {
  const inSize = sizeOf(inShape);
  if (inSize === grad.length) return grad;
  const acc = new Float64Array(inSize);
  const offsets = broadcastOffsets(outShape, inShape);
  for (let o = 0; o < grad.length; o++) acc[offsets[o]] += grad[o];
  const out = allocate(dtype, inSize);
  out.set(acc);
  return out;
}

export function expectNdim(op: string, t: Tensor, ndim: number): void {
  if (t.ndim !== ndim) {
    throw new RangeError(`${op}: expected a ${ndim}D tensor (got ${t.ndim}D tensor of shape ${formatShape(t.shape)})`);
  }
}
