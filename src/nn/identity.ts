import type { Tensor } from '../tensor/tensor.js';
import { Module } from './module.js';

/**
 * Returns its input (PyTorch's `nn.Identity`). `foldBatchNorm` puts one where a folded
 * BatchNorm was, so the other layers keep their indices and state dict keys.
 */
export class Identity extends Module {
  static override readonly displayName: string = 'Identity';
  forward(x: Tensor): Tensor {
    return x;
  }
}
