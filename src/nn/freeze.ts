import { checkOptions, className } from '../describe.js';
import { BatchNorm } from './batchnorm.js';
import type { Module } from './module.js';

/**
 * Freezes every BatchNorm layer of `model` (see `BatchNorm.freeze`): they normalise with their
 * running statistics and keep them, in training mode too, while the rest of the model trains.
 * With `affine: true` their gamma and beta stop training as well. BatchNorm layers without
 * running statistics are refused (error naming the layer). Returns the frozen layers' names.
 *
 * The usual fine-tuning recipe in PyTorch needs `bn.eval()` after every `model.train()` plus
 * `requires_grad_(False)`; here one call holds until `unfreezeBatchNorm`.
 * @example freezeBatchNorm(model, { affine: true }); model.train(); // BN stays frozen
 */
export function freezeBatchNorm(model: Module, options: { affine?: boolean } = {}): string[] {
  checkOptions('freezeBatchNorm', options, ['affine']);
  const layers = model.namedModules().filter((e): e is [string, BatchNorm] => e[1] instanceof BatchNorm);
  for (const [name, bn] of layers) {
    if (!bn.runningMean) throw new Error(`freezeBatchNorm: ${className(bn)} at "${name || '(root)'}" keeps no running statistics (trackRunningStats is false); nothing to freeze to`);
  }
  for (const [, bn] of layers) bn.freeze(options);
  return layers.map(([name]) => name);
}

/** Unfreezes every BatchNorm layer of `model` (see `BatchNorm.unfreeze`). */
export function unfreezeBatchNorm(model: Module): void {
  for (const m of model.modules()) if (m instanceof BatchNorm) m.unfreeze();
}
