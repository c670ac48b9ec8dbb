import type { Parameter } from '../nn/module.js';
import { kernels } from '../kernels/index.js';
import type { FloatArray } from '../kernels/types.js';
import { allocate } from '../tensor/tensor.js';
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
 * The momentum buffer has the parameter's dtype, as in PyTorch; `stateDict()` names it
 * `state.<i>.momentum_buffer`.
 * @example const opt = new SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
 */
export class SGD extends Optimizer {
  readonly lr: number;
  readonly momentum: number;
  readonly dampening: number;
  readonly weightDecay: number;
  readonly nesterov: boolean;
  private readonly buffers = new Map<Parameter, FloatArray>();

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
    const k = kernels();
    for (const p of this.params) {
      const grad = p.peekGrad();
      if (!grad) continue;
      let buf = this.buffers.get(p) ?? null;
      const first = buf === null;
      if (momentum !== 0 && buf === null) {
        buf = allocate(p.dtype, p.size);
        this.buffers.set(p, buf);
      }
      k.sgdStep(p.data, grad.data, momentum !== 0 ? buf : null, { lr, momentum, dampening, weightDecay, nesterov, first });
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
