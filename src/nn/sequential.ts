import type { Tensor } from '../tensor/tensor.js';
import { Module } from './module.js';

/**
 * Runs its modules in order (PyTorch's `nn.Sequential`). Children are named '0', '1', ...,
 * so state dict keys read `0.weight`, `1.running_mean`, as in PyTorch.
 * @example
 * const model = new Sequential(new Linear(784, 100), new BatchNorm1d(100), new Sigmoid(), new Linear(100, 10));
 */
export class Sequential extends Module {
  [index: number]: Module;
  readonly length: number;

  constructor(...modules: Module[]) {
    super();
    modules.forEach((m, i) => {
      if (!(m instanceof Module)) throw new TypeError(`Sequential: argument ${i} is not a Module`);
      this[i] = m;
    });
    this.length = modules.length;
  }

  forward(x: Tensor): Tensor {
    let out = x;
    for (let i = 0; i < this.length; i++) out = this[i].forward(out);
    return out;
  }

  /** The modules, in order. */
  layers(): Module[] {
    return Array.from({ length: this.length }, (_, i) => this[i]);
  }

  /**
   * The module at `index`, counting from the end when negative (PyTorch's `model[-1]`); out of
   * range is an error, as in PyTorch. (`model[i]` works for 0 <= i < length.)
   */
  at(index: number): Module {
    if (!Number.isInteger(index) || index >= this.length || index < -this.length) {
      throw new RangeError(`index ${index} is out of range`);
    }
    return this[index < 0 ? index + this.length : index];
  }

  /** `for (const layer of model)`, as iterating an `nn.Sequential`. */
  [Symbol.iterator](): Iterator<Module> {
    return this.layers()[Symbol.iterator]();
  }
}
