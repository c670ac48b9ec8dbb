import { record } from '../autograd/tape.js';
import { kernels } from '../kernels/index.js';
import { allocateOutput, Tensor } from '../tensor/tensor.js';
import { formatShape, sizeOf } from '../tensor/shape.js';
import { expectTensors, floatDtype } from './util.js';

/**
 * y = x @ weight^T + bias, fused (PyTorch's `F.linear`): x (*, in), weight (out, in),
 * bias (out) or null -> y (*, out). No transposed copy of the weight is made.
 */
export function linear(x: Tensor, weight: Tensor, bias: Tensor | null = null): Tensor {
  expectTensors('linear', { input: x, weight, bias }, ['bias']);
  const dtype = bias ? floatDtype('linear', x, weight, bias) : floatDtype('linear', x, weight);
  if (weight.ndim !== 2) throw new RangeError(`linear: expected a 2D weight (got shape ${formatShape(weight.shape)})`);
  const [outF, inF] = weight.shape;
  if (x.ndim < 1 || x.shape[x.ndim - 1] !== inF) {
    const rows = x.ndim < 1 ? 1 : x.size / Math.max(1, x.shape[x.ndim - 1]);
    throw new RangeError(
      `mat1 and mat2 shapes cannot be multiplied (${rows}x${x.shape[x.ndim - 1] ?? 1} and ${inF}x${outF})` +
        ` (input shape ${formatShape(x.shape)}, weight shape ${formatShape(weight.shape)})`,
    );
  }
  if (bias && (bias.ndim !== 1 || bias.shape[0] !== outF)) {
    throw new RangeError(`linear: expected bias of shape [${outF}] (got ${formatShape(bias.shape)})`);
  }
  // The leading dims' product, not x.size / inF: with in_features 0 that would be 0/0 (PyTorch
  // then gives the bias in every row).
  const rows = sizeOf(x.shape.slice(0, -1));
  const out = allocateOutput(dtype, rows * outF);
  kernels().matmul(x.data, weight.data, out, rows, inF, outF, false, true, bias?.data ?? null);
  const shape = [...x.shape.slice(0, -1), outF];
  const inputs = bias ? [x, weight, bias] : [x, weight];
  return record(new Tensor(out, shape, dtype), 'LinearBackward', inputs, (g) => {
    let gx = null;
    let gw = null;
    let gb = null;
    if (x.requiresGrad) {
      gx = allocateOutput(dtype, x.size);
      kernels().matmul(g, weight.data, gx, rows, outF, inF, false, false); // g @ W
    }
    if (weight.requiresGrad) {
      gw = allocateOutput(dtype, weight.size);
      kernels().matmul(g, x.data, gw, outF, rows, inF, true, false); // g^T @ x
    }
    if (bias?.requiresGrad) {
      gb = allocateOutput(dtype, outF);
      kernels().columnSums(g, rows, outF, gb);
    }
    return bias ? [gx, gw, gb] : [gx, gw];
  }, [x, weight]); // the bias's gradient does not read it
}
