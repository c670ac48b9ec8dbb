import { record } from '../autograd/tape.js';
import { allocate, Tensor } from '../tensor/tensor.js';
import { formatShape, normalizeDim, sizeOf, stridesOf } from '../tensor/shape.js';
import { expectTensors, stridedOffsets } from './util.js';

/** Same elements, new shape; one dimension may be -1 (inferred). Storage is shared. */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  expectTensors('reshape', { input: x });
  const inferred = shape.filter((d) => d === -1).length;
  if (inferred > 1) throw new RangeError('only one dimension can be inferred');
  let target = [...shape];
  if (inferred === 1) {
    const known = sizeOf(shape.filter((d) => d !== -1));
    if (known === 0 || x.size % known !== 0) {
      throw new RangeError(`shape '${formatShape(shape)}' is invalid for input of size ${x.size}`);
    }
    target = shape.map((d) => (d === -1 ? x.size / known : d));
  }
  if (sizeOf(target) !== x.size || target.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new RangeError(`shape '${formatShape(shape)}' is invalid for input of size ${x.size}`);
  }
  return record(new Tensor(x.data, target, x.dtype), 'ViewBackward', [x], (g) => [g]);
}

/** Flattens dims startDim..endDim into one, like `torch.flatten`. */
export function flatten(x: Tensor, startDim = 0, endDim = -1): Tensor {
  expectTensors('flatten', { input: x });
  if (x.ndim === 0) return reshape(x, [1]);
  const s = normalizeDim(startDim, x.ndim);
  const e = normalizeDim(endDim, x.ndim);
  if (s > e) throw new RangeError('flatten() has invalid args: start_dim cannot come after end_dim');
  const shape = [...x.shape.slice(0, s), sizeOf(x.shape.slice(s, e + 1)), ...x.shape.slice(e + 1)];
  return reshape(x, shape);
}

/** Swaps two dimensions (a contiguous copy). */
export function transpose(x: Tensor, dim0: number, dim1: number): Tensor {
  expectTensors('transpose', { input: x });
  const d0 = normalizeDim(dim0, x.ndim);
  const d1 = normalizeDim(dim1, x.ndim);
  const perm = x.shape.map((_, i) => (i === d0 ? d1 : i === d1 ? d0 : i));
  const inStrides = stridesOf(x.shape);
  const outShape = perm.map((p) => x.shape[p]);
  const offsets = stridedOffsets(outShape, perm.map((p) => inStrides[p]));
  const out = allocate(x.dtype, x.size);
  for (let i = 0; i < out.length; i++) out[i] = x.data[offsets[i]];
  return record(new Tensor(out, outShape, x.dtype), 'TransposeBackward', [x], (g) => {
    const gx = allocate(x.dtype, x.size);
    for (let i = 0; i < g.length; i++) gx[offsets[i]] = g[i];
    return [gx];
  });
}
