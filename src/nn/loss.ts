import { checkOptions } from '../describe.js';
import { checkReduction, CROSS_ENTROPY_OPTIONS, crossEntropy, mseLoss, type CrossEntropyOptions, type Reduction, type Targets } from '../ops/loss.js';
import type { Tensor } from '../tensor/tensor.js';

/**
 * Cross-entropy of logits (N, C) against class indices (N) or class probabilities (N, C), like
 * `nn.CrossEntropyLoss(weight=None, ignore_index=-100, reduction='mean', label_smoothing=0.0)`;
 * see `crossEntropy`.
 * @example
 * const loss = new CrossEntropyLoss({ labelSmoothing: 0.1 }).forward(logits, labels);
 * new CrossEntropyLoss({ weight: [1, 4], ignoreIndex: -1 });   // rare class 1 counts 4 times; label -1 is skipped
 */
export class CrossEntropyLoss {
  static readonly displayName: string = 'CrossEntropyLoss';
  readonly reduction: Reduction;
  readonly labelSmoothing: number;
  /** The class weights (null: every class 1). */
  readonly weight: Tensor | ArrayLike<number> | null;
  readonly ignoreIndex: number;
  constructor(options: Reduction | CrossEntropyOptions = 'mean') {
    if (typeof options !== 'string') checkOptions('CrossEntropyLoss', options, CROSS_ENTROPY_OPTIONS);
    const o = typeof options === 'string' ? { reduction: options } : options;
    this.reduction = o.reduction ?? 'mean';
    checkReduction(this.reduction);
    this.labelSmoothing = o.labelSmoothing ?? 0;
    this.weight = o.weight ?? null;
    this.ignoreIndex = o.ignoreIndex ?? -100;
  }
  forward(logits: Tensor, target: Targets): Tensor {
    const { reduction, labelSmoothing, weight, ignoreIndex } = this;
    return crossEntropy(logits, target, { reduction, labelSmoothing, weight, ignoreIndex });
  }
}

/** Mean squared error, like `nn.MSELoss`. */
export class MSELoss {
  static readonly displayName: string = 'MSELoss';
  constructor(readonly reduction: Reduction = 'mean') {
    checkReduction(reduction); // at construction, where the mistake is (PyTorch finds it at the first forward)
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return mseLoss(input, target, this.reduction);
  }
}
