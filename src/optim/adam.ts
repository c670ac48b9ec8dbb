import type { Parameter } from '../nn/module.js';
import { kernels } from '../kernels/index.js';
import type { FloatArray } from '../kernels/types.js';
import { allocate } from '../tensor/tensor.js';
import { checkHyper, Optimizer } from './optimizer.js';

export interface AdamOptions {
  lr?: number;
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
}

interface AdamState {
  step: number;
  m: FloatArray;
  v: FloatArray;
}

/**
 * Adam (Kingma & Ba 2015) with PyTorch's `torch.optim.Adam` update (L2 weight decay added to
 * the gradient, bias corrections applied as PyTorch does):
 *   g = grad + weightDecay * p;  m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
 *   p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
 * The moments have the parameter's dtype, as in PyTorch; `stateDict()` names them
 * `state.<i>.exp_avg`, `state.<i>.exp_avg_sq`, with `state.<i>.step`.
 */
export class Adam extends Optimizer {
  readonly lr: number;
  readonly betas: [number, number];
  readonly eps: number;
  readonly weightDecay: number;
  private readonly state = new Map<Parameter, AdamState>();

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
    const [beta1, beta2] = this.betas;
    const k = kernels();
    for (const p of this.params) {
      const grad = p.peekGrad();
      if (!grad) continue;
      let s = this.state.get(p);
      if (!s) {
        s = { step: 0, m: allocate(p.dtype, p.size), v: allocate(p.dtype, p.size) };
        this.state.set(p, s);
      }
      s.step += 1;
      k.adamStep(p.data, grad.data, s.m, s.v, {
        stepSize: this.lr / (1 - beta1 ** s.step),
        bc2Sqrt: Math.sqrt(1 - beta2 ** s.step),
        beta1, beta2, eps: this.eps, weightDecay: this.weightDecay,
      });
    }
  }

  protected stateNames() {
    return { arrays: ['exp_avg', 'exp_avg_sq'], scalars: ['step'] };
  }

  protected paramState(i: number) {
    const s = this.state.get(this.params[i]);
    return s ? { step: s.step, exp_avg: s.m, exp_avg_sq: s.v } : null;
  }

  protected setParamState(i: number, state: Record<string, FloatArray | number>): void {
    this.state.set(this.params[i], { step: state.step as number, m: state.exp_avg as FloatArray, v: state.exp_avg_sq as FloatArray });
  }
}
