import type { FloatArray } from '../kernels/types.js';
import { allocate, Tensor } from '../tensor/tensor.js';
import { formatShape, sizeOf, stridesOf, type Shape } from '../tensor/shape.js';

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

/** A scalar operand becomes a 0-d constant of the other operand's dtype. */
export function asTensor(value: Tensor | number, like: Tensor): Tensor {
  if (value instanceof Tensor) return value;
  if (typeof value !== 'number') throw new TypeError(`expected a Tensor or a number (got ${typeof value})`);
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
