import { crossEntropy, mseLoss, type Reduction, type Targets } from '../ops/loss.js';
import type { Tensor } from '../tensor/tensor.js';

/** Cross-entropy of logits (N, C) against class indices (N), like `nn.CrossEntropyLoss`. */
export class CrossEntropyLoss {
  constructor(readonly reduction: Reduction = 'mean') {}
  forward(logits: Tensor, target: Targets): Tensor {
    return crossEntropy(logits, target, this.reduction);
  }
}

/** Mean squared error, like `nn.MSELoss`. */
export class MSELoss {
  constructor(readonly reduction: Reduction = 'mean') {}
  forward(input: Tensor, target: Tensor): Tensor {
    return mseLoss(input, target, this.reduction);
  }
}
