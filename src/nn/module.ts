import { noGrad } from '../autograd/tape.js';
import { Tensor } from '../tensor/tensor.js';
import { keep } from '../tensor/tidy.js';
import { formatShape, sameShape } from '../tensor/shape.js';
import { camelCase, checkOptions, className, describeValue, formatValue } from '../describe.js';

/** PyTorch's check of a state dict argument (a module's or an optimizer's): an object of tensors by key. */
export function expectStateDict(value: unknown): asserts value is StateDict {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new TypeError(`Expected state_dict to be dict-like, got ${describeValue(value)}.`);
  }
}

/** A trainable tensor owned by a module (PyTorch's `nn.Parameter`): `requiresGrad` by default. */
export class Parameter extends Tensor {
  static override readonly displayName: string = 'Parameter';
  constructor(data: Tensor, requiresGrad = true) {
    super(data.data, data.shape, data.dtype, requiresGrad);
    keep(this); // a tidy() around the model's construction must not release its weights
  }
}

/**
 * Field name to PyTorch key: camelCase words split by underscores, `runningMean` ->
 * `running_mean`, `fcIn` -> `fc_in`; other names as they are (`W`, `conv1`, `fc_out`).
 */
export function snakeCase(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, (_, before: string, c: string) => `${before}_${c.toLowerCase()}`);
}

export type StateDict = Record<string, Tensor>;

export interface LoadStateDictOptions {
  /** Require the keys to match exactly (default true), like PyTorch. */
  strict?: boolean | undefined;
}

/**
 * Base class of every layer (PyTorch's `nn.Module`).
 *
 * Structure is read from the object itself: fields holding a `Module` are children, fields
 * holding a `Parameter` are parameters, and fields named by `registerBuffer` are buffers
 * (state that is saved but not trained, such as BatchNorm's running statistics). State dict
 * keys derive mechanically from that tree and the field names in snake_case, so they are
 * PyTorch's own: `0.weight`, `features.1.running_var`. JavaScript's `#private` fields cannot
 * be read this way: a layer or parameter held in one is not trained, saved or moved by
 * `to()`; use TypeScript's `private` (an ordinary field) for those.
 */
export abstract class Module {
  static readonly displayName: string = 'Module';
  /** Training mode (true) or evaluation mode (false); see `train()` / `eval()`. */
  training = true;
  readonly #buffers: string[] = [];

  /** Computes the output. Call it directly: `model.forward(x)`. */
  abstract forward(...inputs: Tensor[]): Tensor;

  /**
   * Declares the field `name` a buffer, saved in the state dict (under its snake_case name) and
   * not trained; it may hold a Tensor or null. A name that is no field of this module is an
   * error (PyTorch's `register_buffer` takes the tensor itself, so it cannot name nothing).
   * @example class Counter extends Module { stepCount = zeros([]); constructor() { super(); this.registerBuffer('stepCount'); } ... }
   */
  protected registerBuffer<K extends keyof this & string>(name: K): void {
    if (!(name in this)) {
      const camel = camelCase(name);
      const hint = camel !== name && camel in this ? ` (did you mean '${camel}'? fields are camelCase, their state dict keys snake_case)` : '';
      throw new TypeError(`registerBuffer: ${className(this)} has no field '${name}'${hint}; assign the field before registering it`);
    }
    if (!this.#buffers.includes(name)) this.#buffers.push(name);
  }

  /**
   * Why `value` cannot be loaded into this module's own entry `name` (its PyTorch name, e.g.
   * 'running_var'), or null. `loadStateDict` asks before copying anything; shapes are checked
   * already. BatchNorm refuses statistics that would turn every output into NaN.
   */
  protected refuseStateValue(_name: string, _value: Tensor): string | null {
    return null;
  }

  /**
   * Own state keys a loaded state dict may lack: they keep their value and are not reported
   * missing. BatchNorm's 'num_batches_tracked', as PyTorch fills it in for a state dict without
   * version metadata (older checkpoints, and every safetensors file, carry none).
   */
  protected optionalStateKeys(): readonly string[] {
    return [];
  }

  /**
   * Direct children with their PyTorch names (fields in snake_case, see `snakeCase`), in
   * declaration order (numeric names first, in order, as in Sequential). A field holding an
   * array of modules is refused: PyTorch silently leaves a plain list's modules out of
   * `parameters()` and `state_dict()`; here the fix is named (ModuleList).
   */
  namedChildren(): [string, Module][] {
    const out: [string, Module][] = [];
    for (const [name, value] of Object.entries(this)) {
      if (value instanceof Module) out.push([snakeCase(name), value]);
      else if (Array.isArray(value) && value.some((v) => v instanceof Module)) {
        throw new TypeError(
          `${className(this)}.${name} is an array of modules: their parameters would be neither trained nor saved; ` +
            `hold them in a ModuleList (new ModuleList([...]), keys '${snakeCase(name)}.0.weight', ...) or a Sequential`,
        );
      }
    }
    return out;
  }

  children(): Module[] {
    return this.namedChildren().map(([, m]) => m);
  }

  /** This module and all below it, with dotted names ('' for this one). */
  namedModules(prefix = ''): [string, Module][] {
    const out: [string, Module][] = [[prefix, this]];
    for (const [name, child] of this.namedChildren()) out.push(...child.namedModules(prefix ? `${prefix}.${name}` : name));
    return out;
  }

  modules(): Module[] {
    return this.namedModules().map(([, m]) => m);
  }

  /** Own parameters (not children's), keyed by PyTorch name. */
  private ownParameters(): [string, Parameter][] {
    return Object.entries(this)
      .filter((e): e is [string, Parameter] => e[1] instanceof Parameter)
      .map(([k, p]) => [snakeCase(k), p]);
  }

  /** Own buffers, keyed by PyTorch name (null buffers, e.g. untracked statistics, are absent). */
  private ownBuffers(): [string, Tensor][] {
    const self = this as unknown as Record<string, unknown>;
    return this.#buffers
      .filter((k) => self[k] instanceof Tensor)
      .map((k) => [snakeCase(k), self[k] as Tensor]);
  }

  /** Every parameter below this module, with dotted PyTorch names. */
  namedParameters(): [string, Parameter][] {
    return this.namedModules().flatMap(([prefix, m]) =>
      m.ownParameters().map(([k, p]): [string, Parameter] => [prefix ? `${prefix}.${k}` : k, p]),
    );
  }

  /** Every parameter below this module (what an optimizer takes). */
  parameters(): Parameter[] {
    return this.namedParameters().map(([, p]) => p);
  }

  namedBuffers(): [string, Tensor][] {
    return this.namedModules().flatMap(([prefix, m]) =>
      m.ownBuffers().map(([k, b]): [string, Tensor] => [prefix ? `${prefix}.${k}` : k, b]),
    );
  }

  /**
   * Calls `fn` on every module below this one (children first, depth first) and then on this
   * one, like PyTorch's `apply`; for custom initialisation. Returns this.
   * @example model.apply((m) => { if (m instanceof Linear) m.weight.data.fill(0.01); });
   */
  apply(fn: (module: Module) => void): this {
    for (const child of this.children()) child.apply(fn);
    fn(this);
    return this;
  }

  /** Sets training mode on this module and every module below it. Returns this. */
  train(mode = true): this {
    for (const m of this.modules()) m.training = mode;
    return this;
  }

  /** Evaluation mode: `train(false)`. BatchNorm then uses its running statistics. */
  eval(): this {
    return this.train(false);
  }

  /**
   * Converts every floating point parameter and buffer below this module to `dtype`, in place
   * (PyTorch's `module.to(dtype)`); returns this. Parameters stay the same objects, so an
   * optimizer made before keeps training them (its state is converted at its next step), and
   * their gradients are converted too. Integer buffers (BatchNorm's `num_batches_tracked`)
   * stay int64, as in PyTorch.
   * @example const model = buildMlp(config).double(); // float64, e.g. for gradient checks
   */
  to(dtype: 'float32' | 'float64'): this {
    if (dtype !== 'float32' && dtype !== 'float64') {
      throw new TypeError(`nn.Module.to only accepts floating point dtypes ('float32', 'float64'), but got desired dtype=${formatValue(dtype)}`);
    }
    for (const m of this.modules()) {
      for (const [, t] of [...m.ownParameters(), ...m.ownBuffers()]) {
        if (t.dtype === 'int64') continue;
        t.convertInPlace(dtype);
        keep(t); // the new storage belongs to the module, never to an enclosing tidy()
      }
    }
    return this;
  }

  /** PyTorch's `double()`: `to('float64')`. */
  double(): this {
    return this.to('float64');
  }

  /** PyTorch's `float()`: `to('float32')`. */
  float(): this {
    return this.to('float32');
  }

  /** Clears the gradient of every parameter (PyTorch 2's default: set to null). */
  zeroGrad(): void {
    for (const p of this.parameters()) p.clearGrad();
  }

  /**
   * Parameters and buffers by PyTorch key, in PyTorch's order (each module's parameters, then
   * its buffers, then its children). The tensors are the module's own: clone to snapshot.
   */
  stateDict(): StateDict {
    const out: StateDict = {};
    for (const [prefix, m] of this.namedModules()) {
      for (const [k, t] of [...m.ownParameters(), ...m.ownBuffers()]) out[prefix ? `${prefix}.${k}` : k] = t;
    }
    return out;
  }

  /**
   * Copies values from a state dict into this module's parameters and buffers. Everything is
   * checked before anything is copied, so a failed load changes nothing. With `strict` (the
   * default) missing and unexpected keys are errors; shapes must always match. A NaN or an
   * infinity in any floating point parameter or buffer is an error naming the tensor and its
   * first such element (PyTorch loads them silently, and every output becomes NaN).
   */
  loadStateDict(
    given: StateDict | ReadonlyMap<string, Tensor>,
    options: LoadStateDictOptions = {},
  ): { missingKeys: string[]; unexpectedKeys: string[] } {
    checkOptions('loadStateDict', options, ['strict']);
    const { strict = true } = options;
    expectStateDict(given);
    // Any mapping, as PyTorch takes one; own keys only ('constructor' is a key, not Object's).
    const stateDict: StateDict = given instanceof Map ? Object.fromEntries(given) : (given as StateDict);
    const has = (k: string): boolean => Object.hasOwn(stateDict, k);
    const own = this.stateDict();
    const optional = new Set(this.namedModules().flatMap(([prefix, m]) => m.optionalStateKeys().map((k) => (prefix ? `${prefix}.${k}` : k))));
    const missingKeys = Object.keys(own).filter((k) => !has(k) && !optional.has(k));
    const unexpectedKeys = Object.keys(stateDict).filter((k) => !Object.hasOwn(own, k));
    const errors: string[] = [];
    if (strict && missingKeys.length) errors.push(`Missing key(s) in state_dict: ${missingKeys.map((k) => `"${k}"`).join(', ')}.`);
    if (strict && unexpectedKeys.length) errors.push(`Unexpected key(s) in state_dict: ${unexpectedKeys.map((k) => `"${k}"`).join(', ')}.`);
    for (const [key, target] of Object.entries(own)) {
      if (!has(key)) continue;
      const source: unknown = stateDict[key];
      if (!(source instanceof Tensor)) {
        errors.push(`While copying the parameter named "${key}", expected Tensor from checkpoint but received ${describeValue(source)}.`);
      } else if (target.dtype === 'int64' && !source.data.every(Number.isFinite)) {
        errors.push(`invalid value for ${key}: an int64 cannot hold ${source.data.find((v) => !Number.isFinite(v))}.`);
      } else if (!sameShape(source.shape, target.shape)) {
        errors.push(
          `size mismatch for ${key}: copying a param with shape ${formatShape(source.shape)} from checkpoint, the shape in current model is ${formatShape(target.shape)}.`,
        );
      } else if (target.dtype === 'float32' && source.dtype === 'float64') {
        const overflow = source.data.find((v) => Number.isFinite(v) && !Number.isFinite(Math.fround(v)));
        if (overflow !== undefined) errors.push(`invalid value for ${key}: ${overflow} is beyond float32's range (the model is float32).`);
      }
    }
    for (const [prefix, m] of this.namedModules()) {
      for (const [k, target] of [...m.ownParameters(), ...m.ownBuffers()]) {
        const source = stateDict[prefix ? `${prefix}.${k}` : k];
        if (!(source instanceof Tensor) || !sameShape(source.shape, target.shape)) continue;
        const why = m.refuseStateValue(k, source) ?? (target.dtype === 'int64' ? null : nonFiniteValue(source));
        if (why) errors.push(`invalid value for ${prefix ? `${prefix}.${k}` : k}: ${why}.`);
      }
    }
    if (errors.length) {
      throw new Error(`Error(s) in loading state_dict for ${className(this)}:\n\t${errors.join('\n\t')}`);
    }
    noGrad(() => {
      for (const [key, target] of Object.entries(own)) {
        if (!has(key)) continue;
        const values = stateDict[key].data;
        // Into an integer (num_batches_tracked), toward zero, as PyTorch's copy_ does.
        if (target.dtype === 'int64' && stateDict[key].dtype !== 'int64') target.data.set(values.map((v) => Math.trunc(v) + 0));
        else target.data.set(values);
        target.bumpVersion();
      }
    });
    return { missingKeys, unexpectedKeys };
  }

  /**
   * The module tree as PyTorch prints a model: each child on its own line with its name,
   * layers with their settings: `Sequential(\n  (0): Linear(inFeatures=784, ...)\n  ...\n)`.
   * Also what `console.log(model)` shows in Node.
   */
  toString(): string {
    const children = this.namedChildren();
    if (children.length === 0) return `${className(this)}()`;
    const lines = children.map(([name, child]) => `  (${name}): ${String(child).replace(/\n/g, '\n  ')}`);
    return `${className(this)}(\n${lines.join('\n')}\n)`;
  }

  /** `console.log(model)` in Node prints `toString()`, as `print(model)` in PyTorch. */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }
}

/** The first NaN or infinity of a tensor, as `NaN at [2, 5]`, or null when all values are finite. */
function nonFiniteValue(t: Tensor): string | null {
  const data = t.data;
  for (let i = 0; i < data.length; i++) {
    if (Number.isFinite(data[i])) continue;
    const index: number[] = [];
    let rest = i;
    for (let d = t.shape.length - 1; d >= 0; d--) {
      index.unshift(rest % t.shape[d]);
      rest = Math.floor(rest / t.shape[d]);
    }
    return `${data[i]} at [${index.join(', ')}]; parameters and buffers must be finite`;
  }
  return null;
}
