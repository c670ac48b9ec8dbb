import type { Parameter } from '../nn/module.js';

/** Base of the optimizers: holds the parameters and clears their gradients. */
export abstract class Optimizer {
  readonly params: Parameter[];

  constructor(params: Iterable<Parameter>, name: string) {
    this.params = [...params];
    if (this.params.length === 0) throw new Error(`${name}: optimizer got an empty parameter list`);
  }

  /** Applies one update from the parameters' current `.grad` (parameters without one are skipped). */
  abstract step(): void;

  /** Clears every parameter's gradient (set to null, PyTorch 2's default). */
  zeroGrad(): void {
    for (const p of this.params) p.grad = null;
  }
}

export function checkHyper(name: string, key: string, value: number, min = 0): void {
  if (!(typeof value === 'number' && value >= min && Number.isFinite(value))) {
    throw new RangeError(`${name}: Invalid ${key} value: ${value}`);
  }
}
