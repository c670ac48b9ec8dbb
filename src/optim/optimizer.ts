import { expectStateDict, snakeCase, type Parameter, type StateDict } from '../nn/module.js';
import { allocate, Tensor } from '../tensor/tensor.js';
import { formatShape, sameShape } from '../tensor/shape.js';
import type { FloatArray } from '../kernels/types.js';
import { checkOptions, describeValue, isIterable } from '../describe.js';

/**
 * An optimizer's hyperparameters, every one present, from its options type (whose fields are
 * optional and may be undefined, meaning the default).
 */
export type Hyperparameters<O> = { [K in keyof O]-?: Exclude<O[K], undefined> };

/** A parameter group as given to an optimizer: its parameters and the options that differ from the defaults. */
export type ParamGroupInput<H> = { params: Iterable<Parameter> } & { [K in keyof H]?: H[K] | undefined };

/**
 * A parameter group as the optimizer holds it: parameters and every hyperparameter. The
 * hyperparameters may be changed between steps (a learning-rate schedule sets `group.lr`),
 * as in PyTorch's `optimizer.param_groups`.
 */
export type ParamGroup<H> = { params: Parameter[] } & H;

function isParamGroupInput(v: unknown): v is ParamGroupInput<object> {
  return typeof v === 'object' && v !== null && !(v instanceof Tensor) && 'params' in v;
}

/**
 * Base of the optimizers: holds the parameters in groups (PyTorch's `param_groups`), clears
 * their gradients, and saves and loads per-parameter state under PyTorch's optimizer
 * `state_dict` names (`state.<i>.<name>`, i the parameter's index over all groups in order).
 */
export abstract class Optimizer<H extends object = object> {
  static readonly displayName: string = 'Optimizer';
  /** Every parameter, group after group. */
  readonly params: Parameter[];
  /** The groups with their hyperparameters (one group when given a plain parameter list). */
  readonly paramGroups: ParamGroup<H>[];
  private readonly name: string;
  /** The hyperparameters' names (the defaults' keys): what `stateDict` saves of each group. */
  private readonly hyperKeys: string[];

  /**
   * @param params parameters, or parameter groups `{ params, ...options }` whose options
   *   override `defaults` (`[{ params: bnParams, weightDecay: 0 }, { params: rest }]`)
   */
  constructor(params: Iterable<Parameter> | Iterable<ParamGroupInput<H>>, defaults: Partial<H>, name: string) {
    if (!isIterable(params)) {
      throw new TypeError(`${name}: params argument given to the optimizer should be an iterable of Tensors, but got ${describeValue(params)}`);
    }
    this.name = name;
    this.hyperKeys = Object.keys(defaults);
    const items: unknown[] = [...params];
    if (items.length === 0) throw new Error(`${name}: optimizer got an empty parameter list`);
    const inputs: ParamGroupInput<H>[] = items.every(isParamGroupInput)
      ? (items as ParamGroupInput<H>[])
      : [{ params: items as Parameter[] } as unknown as ParamGroupInput<H>];
    const seen = new Set<Parameter>();
    this.paramGroups = inputs.map((input, g) => {
      const where = this.groupName(g, inputs.length);
      if (!isIterable(input.params)) {
        throw new TypeError(`${where}: params should be an iterable of Tensors, but got ${describeValue(input.params)}`);
      }
      const groupParams = [...input.params];
      const odd = groupParams.find((p) => !(p instanceof Tensor));
      if (odd !== undefined) throw new TypeError(`${where}: optimizer can only optimize Tensors, but one of the params is ${describeValue(odd)}`);
      for (const p of groupParams) {
        if (seen.has(p)) throw new Error(`${name}: some parameters appear in more than one parameter group`);
        seen.add(p);
      }
      checkOptions(where, input, ['params', ...Object.keys(defaults)]);
      // An option given as undefined takes the default, as in the constructors' options.
      const given = Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined));
      const group = { ...defaults, ...given, params: groupParams } as ParamGroup<H>;
      this.checkGroup(group, where);
      return group;
    });
    this.params = this.paramGroups.flatMap((g) => g.params);
  }

  private groupName(g: number, count: number): string {
    return count > 1 ? `${this.name} (parameter group ${g})` : this.name;
  }

  /** Throws for a group's hyperparameters that are out of range (`where` names the optimizer and group). */
  protected abstract checkGroup(h: H, where: string): void;

  /** The groups, each checked again (a schedule may have changed a hyperparameter since the last step). */
  protected groups(): ParamGroup<H>[] {
    this.paramGroups.forEach((g, i) => this.checkGroup(g, this.groupName(i, this.paramGroups.length)));
    return this.paramGroups;
  }

  /** Applies one update from the parameters' current `.grad` (parameters without one are skipped). */
  abstract step(): void;

  /** Clears every parameter's gradient (set to null, PyTorch 2's default). */
  zeroGrad(): void {
    for (const p of this.params) p.clearGrad();
  }

  /** The state of parameter i as named arrays (empty before its first update). */
  protected abstract paramState(i: number): Record<string, FloatArray | number> | null;

  /**
   * A state array of `p` in p's dtype: `a` itself, or a converted copy when the model was moved
   * with `module.to(dtype)` after the state was made (the caller stores the copy).
   */
  protected inParamDtype(p: Parameter, a: FloatArray): FloatArray {
    if (p.data instanceof Float32Array === a instanceof Float32Array) return a;
    const converted = allocate(p.dtype, a.length);
    converted.set(a);
    return converted;
  }

  /** Installs the state of parameter i (already checked against the parameter). */
  protected abstract setParamState(i: number, state: Record<string, FloatArray | number>): void;

  /** The names of a parameter's state: arrays shaped like the parameter, and scalars. */
  protected abstract stateNames(): { arrays: readonly string[]; scalars: readonly string[] };

  /**
   * The optimizer's state as tensors, PyTorch's optimizer `state_dict()` flattened:
   * `state.<i>.<name>` for parameter i's state (`state.0.momentum_buffer`, `state.3.exp_avg`,
   * `state.3.step`; none before its first update), and every group's hyperparameters and
   * parameter indices (`param_groups.0.lr`, `param_groups.0.weight_decay`,
   * `param_groups.0.betas`, `param_groups.0.params`): float64 tensors (true/false as 1/0),
   * the indices int64. Copies.
   */
  stateDict(): StateDict {
    const out: StateDict = {};
    this.params.forEach((p, i) => {
      const s = this.paramState(i);
      if (!s) return;
      for (const [key, v] of Object.entries(s)) {
        out[`state.${i}.${key}`] = typeof v === 'number'
          ? new Tensor(Float64Array.of(v), [], 'float64')
          : new Tensor(this.inParamDtype(p, v).slice(), p.shape, p.dtype);
      }
    });
    let first = 0;
    this.paramGroups.forEach((group, g) => {
      for (const key of this.hyperKeys) {
        const v = (group as Record<string, unknown>)[key];
        const values = (Array.isArray(v) ? v : [v]).map(Number);
        out[`param_groups.${g}.${snakeCase(key)}`] = new Tensor(Float64Array.from(values), Array.isArray(v) ? [values.length] : [], 'float64');
      }
      out[`param_groups.${g}.params`] = new Tensor(Float64Array.from(group.params, (_, j) => first + j), [group.params.length], 'int64');
      first += group.params.length;
    });
    return out;
  }

  /**
   * Loads what `stateDict` returned (or PyTorch's optimizer `state_dict()` flattened the same
   * way) into an optimizer over the same parameters in the same groups. The groups'
   * hyperparameters are loaded too, as in PyTorch (a learning rate a schedule had lowered comes
   * back); a state without `param_groups.*` keys (saved before they were written) keeps the
   * optimizer's own. Everything is checked before anything is loaded: an unknown key, a
   * parameter index out of range or not written as `stateDict` writes it (`state.01`), a value
   * that is not a tensor, a missing part of a parameter's state, a shape other than the
   * parameter's (PyTorch loads it and fails at the next step), other groups than the
   * optimizer's (PyTorch's "loaded state dict has a different number of parameter groups"), a
   * hyperparameter out of range are errors. PyTorch's `foreach`, `capturable`, `differentiable`,
   * `fused` and `initial_lr` are ignored (they do not change the update); `maximize` and
   * `amsgrad` must be 0.
   * A parameter without state starts afresh, as in PyTorch (one that never had a gradient has none).
   */
  loadStateDict(sd: StateDict): void {
    expectStateDict(sd);
    const { arrays, scalars } = this.stateNames();
    const perParam = new Map<number, Record<string, Tensor>>();
    const perGroup = new Map<number, Record<string, Tensor>>();
    for (const [key, t] of Object.entries(sd)) {
      const group = /^param_groups\.(0|[1-9]\d*)\.(\w+)$/.exec(key);
      const m = /^state\.(0|[1-9]\d*)\.(\w+)$/.exec(key);
      if (group) {
        if (!(t instanceof Tensor)) throw new TypeError(`${this.name}.loadStateDict: '${key}' should be a Tensor (got ${describeValue(t)})`);
        const entry = perGroup.get(Number(group[1])) ?? {};
        entry[group[2]] = t;
        perGroup.set(Number(group[1]), entry);
        continue;
      }
      if (!m || ![...arrays, ...scalars].includes(m[2])) {
        throw new Error(`${this.name}.loadStateDict: unexpected key '${key}' (expected state.<i>.{${[...arrays, ...scalars].join(',')}} or param_groups.<g>.<hyperparameter>)`);
      }
      const i = Number(m[1]);
      if (i >= this.params.length) {
        throw new Error(`${this.name}.loadStateDict: '${key}' names parameter ${i}, the optimizer has ${this.params.length}`);
      }
      const p = this.params[i];
      if (!(t instanceof Tensor)) throw new TypeError(`${this.name}.loadStateDict: '${key}' should be a Tensor (got ${describeValue(t)})`);
      if (arrays.includes(m[2]) && !sameShape(t.shape, p.shape)) {
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
    const hyper = perGroup.size > 0 ? this.readGroups(perGroup) : null;
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
    hyper?.forEach((h, g) => Object.assign(this.paramGroups[g], h));
  }

  /** The groups' hyperparameters from `param_groups.<g>.*` tensors, checked as the constructor checks them. */
  private readGroups(perGroup: Map<number, Record<string, Tensor>>): Partial<H>[] {
    const where = `${this.name}.loadStateDict`;
    if (perGroup.size !== this.paramGroups.length || [...perGroup.keys()].some((g) => g >= this.paramGroups.length)) {
      throw new Error(`${where}: loaded state dict has a different number of parameter groups (${perGroup.size}; the optimizer has ${this.paramGroups.length})`);
    }
    let first = 0;
    return this.paramGroups.map((group, g) => {
      const entry = perGroup.get(g)!;
      const at = (key: string) => `'param_groups.${g}.${key}'`;
      const indices = entry.params;
      const expected = group.params.map((_, j) => first + j);
      first += group.params.length;
      if (!indices || indices.ndim !== 1 || !sameShape(indices.shape, [expected.length]) || expected.some((v, j) => indices.data[j] !== v)) {
        throw new Error(`${where}: loaded state dict contains a parameter group that doesn't match the size of optimizer's group (${at('params')} should be the indices ${formatShape(expected)}, got ${indices ? String(indices.toArray()) : 'none'})`);
      }
      const h: Record<string, unknown> = {};
      for (const key of this.hyperKeys) {
        const current = (group as Record<string, unknown>)[key];
        const t = entry[snakeCase(key)];
        if (!t) throw new Error(`${where}: ${at(snakeCase(key))} is missing`);
        const length = Array.isArray(current) ? current.length : 1;
        if (t.ndim !== (Array.isArray(current) ? 1 : 0) || t.size !== length) {
          throw new Error(`${where}: ${at(snakeCase(key))} should have shape ${formatShape(Array.isArray(current) ? [length] : [])} (got ${formatShape(t.shape)})`);
        }
        const values = Array.from(t.data);
        if (typeof current === 'boolean' && values[0] !== 0 && values[0] !== 1) {
          throw new Error(`${where}: ${at(snakeCase(key))} should be 0 or 1 (false or true), got ${values[0]}`);
        }
        h[key] = Array.isArray(current) ? values : typeof current === 'boolean' ? values[0] === 1 : values[0];
      }
      const known = new Set(['params', ...this.hyperKeys.map(snakeCase)]);
      for (const [key, t] of Object.entries(entry)) {
        if (known.has(key) || IGNORED_GROUP_KEYS.includes(key)) continue;
        if (ABSENT_GROUP_FLAGS.includes(key) && t.size === 1 && t.item() === 0) continue;
        throw new Error(`${where}: unexpected key ${at(key)} (${ABSENT_GROUP_FLAGS.includes(key) ? `${key} is not supported: it must be 0` : `${this.name}'s hyperparameters are ${[...known].join(', ')}`})`);
      }
      this.checkGroup({ ...group, ...h } as ParamGroup<H>, `${where} (parameter group ${g})`);
      return h as Partial<H>;
    });
  }
}

/**
 * PyTorch's param_groups keys that do not change an update: its implementation choices, and the
 * `initial_lr` its learning-rate schedulers add.
 */
const IGNORED_GROUP_KEYS = ['foreach', 'capturable', 'differentiable', 'fused', 'initial_lr'];
/** PyTorch's param_groups flags for variants not implemented here: loaded only when off (0). */
const ABSENT_GROUP_FLAGS = ['maximize', 'amsgrad'];

export function checkHyper(name: string, key: string, value: number, min = 0): void {
  if (!(typeof value === 'number' && value >= min && Number.isFinite(value))) {
    throw new RangeError(`${name}: Invalid ${key} value: ${value}`);
  }
}
