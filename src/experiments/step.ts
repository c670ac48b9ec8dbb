import { crossEntropy } from '../ops/loss.js';
import type { Module } from '../nn/module.js';
import type { Optimizer } from '../optim/optimizer.js';
import type { Tensor } from '../tensor/tensor.js';
import { tidy } from '../tensor/tidy.js';

/**
 * One training step of a classifier on a batch (zero the gradients, forward, cross-entropy,
 * backward, update) inside `tidy`, so its activations go back to the allocator when it ends.
 * Returns the loss; a non-finite loss is returned without backward or update (the caller
 * records the divergence).
 */
export function trainStep(model: Module, optimizer: Optimizer, x: Tensor, labels: Int32Array): number {
  model.train();
  return tidy(() => {
    optimizer.zeroGrad();
    const loss = crossEntropy(model.forward(x), labels);
    const value = loss.item();
    if (Number.isFinite(value)) {
      loss.backward();
      optimizer.step();
    }
    return value;
  });
}
