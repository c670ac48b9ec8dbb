import type { Parameter } from '../nn/module.js';
import { kernels } from '../kernels/index.js';
import type { FloatArray } from '../kernels/types.js';
import { allocate } from '../tensor/tensor.js';
import { checkOptions } from '../describe.js';
import { checkHyper, Optimizer, type Hyperparameters, type ParamGroupInput } from './optimizer.js';

export interface SGDOptions {
  lr: number;
  momentum?: number | undefined;
  dampening?: number | undefined;
  weightDecay?: number | undefined;
  nesterov?: boolean | undefined;
}

/**
 * Stochastic gradient descent with PyTorch's `torch.optim.SGD` update:
 *   g = grad + weightDecay * p
 *   buf = g (first step) | momentum * buf + (1 - dampening) * g
 *   g = nesterov ? g + momentum * buf : buf       (when momentum > 0)
 *   p -= lr * g
 * The momentum buffer has the parameter's dtype, as in PyTorch; `stateDict()` names it
 * `state.<i>.momentum_buffer`.
 * @example const opt = new SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
 */
export class SGD extends Optimizer<Hyperparameters<SGDOptions>> {
  static override readonly displayName: string = 'SGD';
  private readonly buffers = new Map<Parameter, FloatArray>();

  /**
   * @param params parameters, or groups with their own options:
   *   `new SGD([{ params: bnParams, weightDecay: 0 }, { params: others }], { lr: 0.1, weightDecay: 1e-4 })`
   */
  constructor(params: Iterable<Parameter> | Iterable<ParamGroupInput<SGDOptions>>, options: SGDOptions) {
    checkOptions('SGD', options, ['lr', 'momentum', 'dampening', 'weightDecay', 'nesterov']);
    const { lr, momentum = 0, dampening = 0, weightDecay = 0, nesterov = false } = options ?? {};
    super(params, { lr, momentum, dampening, weightDecay, nesterov }, 'SGD');
  }

  step(): void {
    const k = kernels();
    for (const { params, lr, momentum, dampening, weightDecay, nesterov } of this.groups()) {
      for (const p of params) {
        const grad = p.peekGrad();
        if (!grad) continue;
        let buf = this.buffers.get(p) ?? null;
        const first = buf === null;
        if (buf !== null) this.buffers.set(p, (buf = this.inParamDtype(p, buf)));
        if (momentum !== 0 && buf === null) {
          buf = allocate(p.dtype, p.size);
          this.buffers.set(p, buf);
        }
        k.sgdStep(p.data, grad.data, momentum !== 0 ? buf : null, { lr, momentum, dampening, weightDecay, nesterov, first });
        p.bumpVersion(); // changed in place: a graph built before this step cannot be walked back
      }
    }
  }

  protected checkGroup(h: Hyperparameters<SGDOptions>, where: string): void {
    if (h.lr === undefined) throw new TypeError(`${where}: parameter group didn't specify a value of required optimization parameter lr`);
    checkHyper(where, 'learning rate', h.lr);
    checkHyper(where, 'momentum', h.momentum);
    checkHyper(where, 'weight_decay', h.weightDecay);
    checkHyper(where, 'dampening', h.dampening);
    if (h.nesterov && (h.momentum <= 0 || h.dampening !== 0)) {
      throw new RangeError(`${where}: Nesterov momentum requires a momentum and zero dampening`);
    }
  }

  protected stateNames() {
    return { arrays: ['momentum_buffer'], scalars: [] };
  }

  protected paramState(i: number) {
    const buf = this.buffers.get(this.params[i]);
    return buf ? { momentum_buffer: buf } : null;
  }

  protected setParamState(i: number, state: Record<string, FloatArray | number>): void {
    this.buffers.set(this.params[i], state.momentum_buffer as FloatArray);
  }
}
