import { noGrad } from '../autograd/tape.js';
import type { ImageSet } from '../data/idx.js';
import type { Module } from '../nn/module.js';
import { crossEntropy } from '../ops/loss.js';
import type { Optimizer } from '../optim/optimizer.js';
import { Tensor } from '../tensor/tensor.js';
import { tidy } from '../tensor/tidy.js';

// The two things every trainer of the lab does with its classifier, in one place.

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

/**
 * Accuracy (argmax of the logits) and mean cross-entropy of `model` in evaluation mode on the
 * first `n` images of `set`, in chunks of `chunk`, each image shaped `sampleShape` (e.g.
 * `[784]` or `[1, 28, 28]`). Leaves the model in evaluation mode.
 */
export function evaluateClassifier(
  model: Module, set: ImageSet, n: number, sampleShape: readonly number[], chunk: number,
): { accuracy: number; loss: number } {
  const pixels = set.height * set.width;
  model.eval();
  return tidy(() => noGrad(() => {
    let correct = 0;
    let lossTotal = 0;
    for (let start = 0; start < n; start += chunk) {
      const m = Math.min(chunk, n - start);
      const logits = model.forward(new Tensor(set.images.subarray(start * pixels, (start + m) * pixels), [m, ...sampleShape]));
      const labels = set.labels.subarray(start, start + m);
      lossTotal += crossEntropy(logits, labels, 'sum').item();
      const l = logits.data;
      const classes = logits.shape[1];
      for (let i = 0; i < m; i++) {
        let best = 0;
        for (let k = 1; k < classes; k++) if (l[i * classes + k] > l[i * classes + best]) best = k;
        if (best === labels[i]) correct++;
      }
    }
    return { accuracy: correct / n, loss: lossTotal / n };
  }));
}
