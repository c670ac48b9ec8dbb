import type { Parameter } from '../nn/module.js';
import { checkHyper, Optimizer } from './optimizer.js';

export interface AdamOptions {
  lr?: number;
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
}

/**
 * Adam (Kingma & Ba 2015) with PyTorch's `torch.optim.Adam` update (L2 weight decay added to
 * the gradient, bias corrections applied as PyTorch does):
 *   g = grad + weightDecay * p;  m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
 *   p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
 */
export class Adam extends Optimizer {
  readonly lr: number;
  readonly betas: [number, number];
  readonly eps: number;
  readonly weightDecay: number;
  private readonly state = new Map<Parameter, { step: number; m: Float64Array; v: Float64Array }>();

  constructor(params: Iterable<Parameter>, options: AdamOptions = {}) {
    super(params, 'Adam');
    const { lr = 1e-3, betas = [0.9, 0.999], eps = 1e-8, weightDecay = 0 } = options;
    checkHyper('Adam', 'learning rate', lr);
    checkHyper('Adam', 'epsilon', eps);
    checkHyper('Adam', 'weight_decay', weightDecay);
    betas.forEach((b, i) => {
      if (!(b >= 0 && b < 1)) throw new RangeError(`Adam: Invalid beta parameter at index ${i}: ${b}`);
    });
    this.lr = lr;
    this.betas = [betas[0], betas[1]];
    this.eps = eps;
    this.weightDecay = weightDecay;
  }

  step(): void {
    const [b1, b2] = this.betas;
    for (const p of this.params) {
      if (!p.grad) continue;
      let s = this.state.get(p);
      if (!s) {
        s = { step: 0, m: new Float64Array(p.size), v: new Float64Array(p.size) };
        this.state.set(p, s);
      }
      s.step += 1;
      const stepSize = this.lr / (1 - b1 ** s.step);
      const bc2Sqrt = Math.sqrt(1 - b2 ** s.step);
      const w = p.data;
      const grad = p.grad.data;
      const { m, v } = s;
      for (let i = 0; i < w.length; i++) {
        const g = grad[i] + this.weightDecay * w[i];
        m[i] = b1 * m[i] + (1 - b1) * g;
        v[i] = b2 * v[i] + (1 - b2) * g * g;
        w[i] -= (stepSize * m[i]) / (Math.sqrt(v[i]) / bc2Sqrt + this.eps);
      }
    }
  }
}
