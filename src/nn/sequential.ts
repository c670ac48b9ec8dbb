import type { Tensor } from '../tensor/tensor.js';
import { className, describeValue, isIterable } from '../describe.js';
import { Module } from './module.js';

/**
 * Holds modules in a list (PyTorch's `nn.ModuleList`). They are children named '0', '1', ...,
 * so their parameters are trained and saved under `layers.0.weight` as in PyTorch; a plain
 * array of modules in a field would be neither (this library refuses one). It has no
 * `forward`: iterate it in your module's.
 * @example
 * class Tower extends Module {
 *   blocks = new ModuleList([new Linear(8, 8), new Linear(8, 8)]);
 *   forward(x: Tensor): Tensor { for (const block of this.blocks) x = block.forward(x).relu(); return x; }
 * }
 */
export class ModuleList extends Module {
  static override readonly displayName: string = 'ModuleList';
  [index: number]: Module;
  #length = 0;

  constructor(modules: Iterable<Module> = []) {
    super();
    if (!isIterable(modules)) {
      throw new TypeError(`${className(this)}: expected an iterable of modules, e.g. new ModuleList([a, b]) (got ${describeValue(modules)})`);
    }
    for (const m of modules) this.append(m);
  }

  /** How many modules it holds. */
  get length(): number {
    return this.#length;
  }

  /** Adds a module at the end (PyTorch's `append`). Returns this. */
  append(module: Module): this {
    if (!(module instanceof Module)) throw new TypeError(`${className(this)}: argument ${this.#length} is not a Module (got ${describeValue(module)})`);
    this[this.#length++] = module;
    return this;
  }

  forward(..._inputs: Tensor[]): Tensor {
    throw new Error(`Module [${className(this)}] is missing the required "forward" function: iterate it in your module's forward`);
  }

  /** The modules, in order. */
  layers(): Module[] {
    return Array.from({ length: this.#length }, (_, i) => this[i]);
  }

  /**
   * The module at `index`, counting from the end when negative (PyTorch's `model[-1]`); out of
   * range is an error, as in PyTorch. (`model[i]` works for 0 <= i < length.)
   */
  at(index: number): Module {
    if (!Number.isInteger(index) || index >= this.#length || index < -this.#length) {
      throw new RangeError(`index ${index} is out of range`);
    }
    return this[index < 0 ? index + this.#length : index];
  }

  /** `for (const layer of model)`, as iterating an `nn.ModuleList` or `nn.Sequential`. */
  [Symbol.iterator](): Iterator<Module> {
    return this.layers()[Symbol.iterator]();
  }
}

/**
 * Runs its modules in order (PyTorch's `nn.Sequential`). Children are named '0', '1', ...,
 * so state dict keys read `0.weight`, `1.running_mean`, as in PyTorch.
 * @example
 * const model = new Sequential(new Linear(784, 100), new BatchNorm1d(100), new Sigmoid(), new Linear(100, 10));
 */
export class Sequential extends ModuleList {
  static override readonly displayName: string = 'Sequential';
  constructor(...modules: Module[]) {
    super(modules);
  }

  override forward(x: Tensor): Tensor {
    let out = x;
    for (let i = 0; i < this.length; i++) out = this[i].forward(out);
    return out;
  }
}
