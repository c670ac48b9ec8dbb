import { noGrad } from '../autograd/tape.js';
import { Tensor } from '../tensor/tensor.js';
import { describeValue, isIterable } from '../describe.js';
import { BatchNorm } from './batchnorm.js';
import type { Module } from './module.js';

/** A batch as a data loader gives it: the input, or an array whose first element is the input (`[x, labels]`). */
export type BnBatch = Tensor | readonly [Tensor, ...unknown[]];

/**
 * Recomputes the running statistics of every BatchNorm in `model` from `batches`, like
 * PyTorch's `torch.optim.swa_utils.update_bn(loader, model)`: the statistics are reset, every
 * batch goes through the model in training mode without gradients, with momentum null so the
 * result is the plain average over the batches (the mean of the batch means, the mean of the
 * unbiased batch variances; `numBatchesTracked` counts them), and each layer's momentum and
 * every module's mode are put back afterwards. Use it when the stored statistics no longer
 * describe the weights: after averaging weights (SWA), pruning, or training with a different
 * batch distribution.
 *
 * Frozen layers and layers without running statistics are left alone. Unlike PyTorch, an empty
 * `batches` is an error (PyTorch would leave every layer reset to mean 0, variance 1), and
 * when a batch fails (a batch of one, a wrong shape) every statistic is restored before the
 * error is thrown. Returns the number of batches used.
 * @example updateBn(trainBatches, model); model.eval(); // evaluate with the recomputed statistics
 */
export function updateBn(batches: Iterable<BnBatch>, model: Module): number {
  if (!isIterable(batches)) {
    throw new TypeError(`updateBn: batches should be an iterable of Tensors (or [input, ...] arrays), but got ${describeValue(batches)}`);
  }
  const layers = model.modules().filter((m): m is BatchNorm => m instanceof BatchNorm && m.runningMean !== null && !m.frozen);
  if (layers.length === 0) return 0;
  const modes = model.modules().map((m) => [m, m.training] as const);
  const momenta = layers.map((bn) => bn.momentum);
  const saved = layers.flatMap((bn) => [bn.runningMean!, bn.runningVar!, bn.numBatchesTracked!]).map((t) => [t, t.data.slice()] as const);
  let count = 0;
  try {
    for (const bn of layers) {
      bn.resetRunningStats();
      bn.momentum = null;
    }
    model.train();
    noGrad(() => {
      for (const batch of batches) {
        const input = Array.isArray(batch) ? batch[0] : batch;
        if (!(input instanceof Tensor)) {
          throw new TypeError(`updateBn: batch ${count} should be a Tensor or an array starting with one, but got ${describeValue(batch)}`);
        }
        model.forward(input);
        count++;
      }
    });
    if (count === 0) throw new RangeError('updateBn: batches is empty: no statistics to compute (the running statistics are unchanged)');
  } catch (err) {
    for (const [t, copy] of saved) t.data.set(copy);
    throw err;
  } finally {
    layers.forEach((bn, i) => (bn.momentum = momenta[i]));
    for (const [m, training] of modes) m.training = training;
  }
  return count;
}
