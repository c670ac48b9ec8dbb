import { expectStateDict, type Parameter, type StateDict } from '../nn/module.js';
import { allocate, Tensor } from '../tensor/tensor.js';
import { formatShape } from '../tensor/shape.js';
import type { FloatArray } from '../kernels/types.js';
import { describeValue } from '../ops/util.js';

/**
 * Base of the optimizers: holds the parameters, clears their gradients, and saves and loads
 * per-parameter state under PyTorch's optimizer `state_dict` names (`state.<i>.<name>`, i the
 * parameter's index in the list the optimizer was given).
 */
export abstract class Optimizer {
  readonly params: Parameter[];
  private readonly name: string;

  constructor(params: Iterable<Parameter>, name: string) {
    if (params == null || typeof (params as Partial<Iterable<Parameter>>)[Symbol.iterator] !== 'function') {
      throw new TypeError(`${name}: params argument given to the optimizer should be an iterable of Tensors, but got ${describeValue(params)}`);
    }
    this.params = [...params];
    const odd = this.params.find((p) => !(p instanceof Tensor));
    if (odd !== undefined) throw new TypeError(`${name}: optimizer can only optimize Tensors, but one of the params is ${describeValue(odd)}`);
    this.name = name;
    if (this.params.length === 0) throw new Error(`${name}: optimizer got an empty parameter list`);
  }

  /** Applies one update from the parameters' current `.grad` (parameters without one are skipped). */
  abstract step(): void;

  /** Clears every parameter's gradient (set to null, PyTorch 2's default). */
  zeroGrad(): void {
    for (const p of this.params) p.clearGrad();
  }

  /** The state of parameter i as named arrays (empty before its first update). */
  protected abstract paramState(i: number): Record<string, FloatArray | number> | null;

  /** Installs the state of parameter i (already checked against the parameter). */
  protected abstract setParamState(i: number, state: Record<string, FloatArray | number>): void;

  /** The names of a parameter's state: arrays shaped like the parameter, and scalars. */
  protected abstract stateNames(): { arrays: readonly string[]; scalars: readonly string[] };

  /**
   * The optimizer's state as tensors, keys as in PyTorch's optimizer `state_dict()['state']`
   * flattened: `state.0.momentum_buffer`, `state.3.exp_avg`, `state.3.step`. Copies.
   */
  stateDict(): StateDict {
    const out: StateDict = {};
    this.params.forEach((p, i) => {
      const s = this.paramState(i);
      if (!s) return;
      for (const [key, v] of Object.entries(s)) {
        out[`state.${i}.${key}`] = typeof v === 'number'
          ? new Tensor(Float64Array.of(v), [], 'float64')
          : new Tensor(v.slice(), p.shape, p.dtype);
      }
    });
    return out;
  }

  /**
   * Loads what `stateDict` returned (or PyTorch's optimizer state, flattened the same way) into
   * an optimizer over the same parameters. Everything is checked before anything is loaded:
   * an unknown key, a parameter index out of range, a missing part of a parameter's state or
   * a size that does not match the parameter is an error.
   */
  loadStateDict(sd: StateDict): void {
    expectStateDict(sd);
    const { arrays, scalars } = this.stateNames();
    const perParam = new Map<number, Record<string, Tensor>>();
    for (const [key, t] of Object.entries(sd)) {
      const m = /^state\.(\d+)\.(\w+)$/.exec(key);
      if (!m || ![...arrays, ...scalars].includes(m[2])) {
        throw new Error(`${this.name}.loadStateDict: unexpected key '${key}' (expected state.<i>.{${[...arrays, ...scalars].join(',')}})`);
      }
      const i = Number(m[1]);
      if (i >= this.params.length) {
        throw new Error(`${this.name}.loadStateDict: '${key}' names parameter ${i}, the optimizer has ${this.params.length}`);
      }
      const p = this.params[i];
      if (arrays.includes(m[2]) && t.size !== p.size) {
        throw new Error(`${this.name}.loadStateDict: '${key}' has shape ${formatShape(t.shape)}, parameter ${i} has shape ${formatShape(p.shape)}`);
      }
      if (scalars.includes(m[2]) && t.size !== 1) {
        throw new Error(`${this.name}.loadStateDict: '${key}' should hold one number (got shape ${formatShape(t.shape)})`);
      }
      const entry = perParam.get(i) ?? {};
      entry[m[2]] = t;
      perParam.set(i, entry);
    }
    for (const [i, entry] of perParam) {
      const missing = [...arrays, ...scalars].filter((k) => !(k in entry));
      if (missing.length > 0) throw new Error(`${this.name}.loadStateDict: state.${i} lacks ${missing.join(', ')}`);
    }
    for (const [i, entry] of perParam) {
      const state: Record<string, FloatArray | number> = {};
      for (const k of arrays) {
        const a = allocate(this.params[i].dtype, this.params[i].size);
        a.set(entry[k].data);
        state[k] = a;
      }
      for (const k of scalars) state[k] = entry[k].item();
      this.setParamState(i, state);
    }
  }
}

export function checkHyper(name: string, key: string, value: number, min = 0): void {
  if (!(typeof value === 'number' && value >= min && Number.isFinite(value))) {
    throw new RangeError(`${name}: Invalid ${key} value: ${value}`);
  }
}
