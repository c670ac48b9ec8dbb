import { record } from '../autograd/tape.js';
import { kernels } from '../kernels/index.js';
import { allocateOutput, Tensor } from '../tensor/tensor.js';
import { formatShape } from '../tensor/shape.js';
import { expectTensors, floatDtype } from './util.js';

/** Matrix product of two 2-D tensors: (m, k) @ (k, n) -> (m, n). */
export function matmul(a: Tensor, b: Tensor): Tensor {
  expectTensors('matmul', { input: a, other: b });
  const dtype = floatDtype('matmul', a, b);
  if (a.ndim !== 2 || b.ndim !== 2) {
    throw new RangeError(`matmul: expected 2D tensors (got shapes ${formatShape(a.shape)} and ${formatShape(b.shape)})`);
  }
  const [m, k] = a.shape;
  const [k2, n] = b.shape;
  if (k !== k2) throw new RangeError(`mat1 and mat2 shapes cannot be multiplied (${m}x${k} and ${k2}x${n})`);
  const out = allocateOutput(dtype, m * n);
  kernels().matmul(a.data, b.data, out, m, k, n, false, false);
  return record(new Tensor(out, [m, n], dtype), 'MmBackward', [a, b], (g) => {
    let ga = null;
    let gb = null;
    if (a.requiresGrad) {
      ga = allocateOutput(dtype, m * k);
      kernels().matmul(g, b.data, ga, m, n, k, false, true); // g @ b^T
    }
    if (b.requiresGrad) {
      gb = allocateOutput(dtype, k * n);
      kernels().matmul(a.data, g, gb, k, m, n, true, false); // a^T @ g
    }
    return [ga, gb];
  });
}
