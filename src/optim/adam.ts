import type { Parameter } from '../nn/module.js';
import { kernels } from '../kernels/index.js';
import type { FloatArray } from '../kernels/types.js';
import { allocate } from '../tensor/tensor.js';
import { checkOptions, describeValue } from '../describe.js';
import { checkHyper, Optimizer, type Hyperparameters, type ParamGroupInput } from './optimizer.js';

export interface AdamOptions {
  lr?: number | undefined;
  betas?: readonly [number, number] | undefined;
  eps?: number | undefined;
  weightDecay?: number | undefined;
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
export class Adam extends Optimizer<Hyperparameters<AdamOptions>> {
  static override readonly displayName: string = 'Adam';
  private readonly state = new Map<Parameter, AdamState>();

  /** @param params parameters, or groups with their own options (see `SGD`) */
  constructor(params: Iterable<Parameter> | Iterable<ParamGroupInput<AdamOptions>>, options: AdamOptions = {}) {
    checkOptions('Adam', options, ['lr', 'betas', 'eps', 'weightDecay']);
    const { lr = 1e-3, betas = [0.9, 0.999], eps = 1e-8, weightDecay = 0 } = options;
    super(params, { lr, betas, eps, weightDecay }, 'Adam');
  }

  step(): void {
    const k = kernels();
    for (const { params, lr, betas: [beta1, beta2], eps, weightDecay } of this.groups()) {
      for (const p of params) {
        const grad = p.peekGrad();
        if (!grad) continue;
        let s = this.state.get(p);
        if (!s) {
          s = { step: 0, m: allocate(p.dtype, p.size), v: allocate(p.dtype, p.size) };
          this.state.set(p, s);
        }
        s.m = this.inParamDtype(p, s.m);
        s.v = this.inParamDtype(p, s.v);
        s.step += 1;
        k.adamStep(p.data, grad.data, s.m, s.v, {
          stepSize: lr / (1 - beta1 ** s.step),
          bc2Sqrt: Math.sqrt(1 - beta2 ** s.step),
          beta1, beta2, eps, weightDecay,
        });
        p.bumpVersion(); // changed in place: a graph built before this step cannot be walked back
      }
    }
  }

  protected checkGroup(h: Hyperparameters<AdamOptions>, where: string): void {
    checkHyper(where, 'learning rate', h.lr);
    checkHyper(where, 'epsilon', h.eps);
    checkHyper(where, 'weight_decay', h.weightDecay);
    if (!Array.isArray(h.betas) || h.betas.length !== 2) throw new TypeError(`${where}: betas must be a pair of numbers (got ${describeValue(h.betas)})`);
    h.betas.forEach((b, i) => {
      if (!(b >= 0 && b < 1)) throw new RangeError(`${where}: Invalid beta parameter at index ${i}: ${b}`);
    });
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
