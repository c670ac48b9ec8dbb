/** Small checks for error messages about values of the wrong kind (no dependencies: any layer may use them). */

/**
 * The name of an object's class, for messages and printing. The library's classes declare
 * theirs (`static readonly displayName = 'BatchNorm2d'`), so a minifying bundler that renames
 * classes (BatchNorm2d -> JA) leaves errors and `print(model)` readable; other classes (a
 * user's `Net`) give their own `name`.
 */
export function className(value: object): string {
  const ctor = (value as { constructor?: { name?: string; displayName?: string } }).constructor;
  if (!ctor) return 'object';
  return (Object.hasOwn(ctor, 'displayName') ? ctor.displayName : ctor.name) || 'object';
}

/**
 * The class among `classes` that `value` is an instance of itself (not of a subclass), for
 * code that rebuilds or translates layers by class (checkpoints, ONNX): a subclass may override
 * `forward`, which the base class rebuilt elsewhere would not do, unless it declares with a
 * static `savesAs` the class it computes as in evaluation mode (as `ActivationNoise` is an
 * Identity there). Throws otherwise, naming `fn`, the layer's `path` and the base class a
 * subclass came from.
 */
export function exactClass<C extends abstract new (...args: never[]) => object>(
  value: object, classes: readonly C[], fn: string, path: string, supported: string,
): C {
  const known = classes.find((Cls) => Object.getPrototypeOf(value) === Cls.prototype);
  if (known) return known;
  // A subclass may declare that in evaluation mode it computes what a known class does (`static savesAs = Identity`).
  const ctor = (value as { constructor?: { savesAs?: unknown } }).constructor;
  const declared = ctor && Object.hasOwn(ctor, 'savesAs') ? classes.find((Cls) => Cls === ctor.savesAs && value instanceof Cls) : undefined;
  if (declared) return declared;
  const base = classes.find((Cls) => value instanceof Cls) as { displayName?: string; name: string } | undefined;
  const baseName = base && (base.displayName ?? base.name);
  throw new TypeError(
    `${fn}: cannot ${fn === 'exportOnnx' ? 'export' : 'describe'} ${path} (${className(value)})` +
      `${baseName ? `, a subclass of ${baseName}: its own code would be lost (unless in eval mode it computes as ${baseName}: declare static savesAs = ${baseName})` : ''}; supported: ${supported}`,
  );
}

/** PyTorch's snake_case name in this library's camelCase: `weight_decay` -> `weightDecay`. */
export function camelCase(name: string): string {
  return name.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
}

/**
 * The error for optional npm packages that are not installed: `code` 'BATCHNORM_MISSING_PACKAGE'
 * and the `packages`, so a caller can name every missing one at once.
 */
export function missingPackageError(message: string, packages: string[]): Error {
  return Object.assign(new Error(message), { code: 'BATCHNORM_MISSING_PACKAGE', packages });
}

/** What a value is, for an error message: 'Array', 'number', 'undefined', 'Float32Array', ... */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'Array';
  if (typeof value === 'object') return className(value as object);
  return typeof value;
}

/** Whether the value is a Promise or another thenable (what an async function returns). */
export function isThenable(value: unknown): boolean {
  return value !== null && typeof value === 'object' && typeof (value as { then?: unknown }).then === 'function';
}

/** Whether `for...of` can walk the value (arrays, sets, generators, ...). */
export function isIterable(value: unknown): value is Iterable<unknown> {
  return value != null && typeof (value as Partial<Iterable<unknown>>)[Symbol.iterator] === 'function';
}

/** A value as an error message shows it: `'3'` for a string, `0.1` for a number, else its kind. */
export function formatValue(value: unknown): string {
  if (typeof value === 'string') return `'${value}'`;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint' || value === undefined) return String(value);
  return describeValue(value);
}

/** Checks a layer's size argument (numFeatures, inFeatures, ...): a positive integer. */
export function checkSize(where: string, name: string, value: unknown): void {
  if (!Number.isInteger(value) || (value as number) <= 0) throw new RangeError(`${where}: ${name} must be a positive integer (got ${formatValue(value)})`);
}

/**
 * Checks an options argument: undefined, or a plain object whose keys are all in `allowed`.
 * Without it a misspelt or PyTorch-spelt key (`weight_decay`, `epsilon`) or PyTorch's
 * positional argument (`new BatchNorm1d(3, 1e-3)`) would be ignored without a word.
 */
export function checkOptions(where: string, options: unknown, allowed: readonly string[]): void {
  if (options === undefined) return;
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new TypeError(`${where}: options must be an object such as { ${allowed[0]}: ... } (got ${describeValue(options)}${typeof options === 'number' ? ` ${options}` : ''})`);
  }
  const unknown = Object.keys(options).find((k) => !allowed.includes(k));
  if (unknown !== undefined) {
    const camel = camelCase(unknown);
    const hint = camel !== unknown && allowed.includes(camel) ? ` (did you mean '${camel}'?)` : '';
    throw new TypeError(`${where}: unknown option '${unknown}'${hint}; the options are ${allowed.map((a) => `'${a}'`).join(', ')}`);
  }
}

/** Checks a layer's `dtype` option: a floating point dtype (a layer's weights train). */
export function checkFloatDtype(where: string, dtype: unknown): 'float32' | 'float64' {
  if (dtype !== 'float32' && dtype !== 'float64') throw new TypeError(`${where}: dtype must be 'float32' or 'float64' (got ${formatValue(dtype)})`);
  return dtype;
}

const warned = new Set<string>();

/**
 * Warns once per process for each `code`: in Node with `process.emitWarning(message, { code })`
 * (so `--no-warnings` and `process.on('warning')` work as for Node's own), elsewhere with
 * `console.warn`. For values that are legal but almost always a mistake.
 */
export function warnOnce(code: string, message: string): void {
  if (warned.has(code)) return;
  warned.add(code);
  const proc = (globalThis as { process?: { emitWarning?: (message: string, options: { code: string }) => void } }).process;
  if (typeof proc?.emitWarning === 'function') proc.emitWarning(message, { code });
  else console.warn(`${code}: ${message}`);
}

/** @internal For tests: forget which warnings were given. */
export function resetWarnings(): void {
  warned.clear();
}
