import type { Parameter } from '../nn/module.js';
import { checkHyper, Optimizer } from './optimizer.js';

export interface SGDOptions {
  lr: number;
  momentum?: number;
  dampening?: number;
  weightDecay?: number;
  nesterov?: boolean;
}

/**
 * Stochastic gradient descent with PyTorch's `torch.optim.SGD` update:
 *   g = grad + weightDecay * p
 *   buf = g (first step) | momentum * buf + (1 - dampening) * g
 *   g = nesterov ? g + momentum * buf : buf       (when momentum > 0)
 *   p -= lr * g
 * @example const opt = new SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
 */
export class SGD extends Optimizer {
  readonly lr: number;
  readonly momentum: number;
  readonly dampening: number;
  readonly weightDecay: number;
  readonly nesterov: boolean;
  private readonly buffers = new Map<Parameter, Float64Array>();

  constructor(params: Iterable<Parameter>, options: SGDOptions) {
    super(params, 'SGD');
    const { lr, momentum = 0, dampening = 0, weightDecay = 0, nesterov = false } = options;
    checkHyper('SGD', 'learning rate', lr);
    checkHyper('SGD', 'momentum', momentum);
    checkHyper('SGD', 'weight_decay', weightDecay);
    if (nesterov && (momentum <= 0 || dampening !== 0)) {
      throw new RangeError('Nesterov momentum requires a momentum and zero dampening');
    }
    this.lr = lr;
    this.momentum = momentum;
    this.dampening = dampening;
    this.weightDecay = weightDecay;
    this.nesterov = nesterov;
  }

  step(): void {
    const { lr, momentum, dampening, weightDecay, nesterov } = this;
    for (const p of this.params) {
      if (!p.grad) continue;
      const w = p.data;
      const grad = p.grad.data;
      let buf = this.buffers.get(p);
      const first = !buf;
      if (momentum !== 0 && !buf) {
        buf = new Float64Array(w.length);
        this.buffers.set(p, buf);
      }
      for (let i = 0; i < w.length; i++) {
        let g = grad[i] + weightDecay * w[i];
        if (buf) {
          buf[i] = first ? g : momentum * buf[i] + (1 - dampening) * g;
          g = nesterov ? g + momentum * buf[i] : buf[i];
        }
        w[i] -= lr * g;
      }
    }
  }
}
