/** Small checks for error messages about values of the wrong kind (no dependencies: any layer may use them). */

/** What a value is, for an error message: 'Array', 'number', 'undefined', 'Float32Array', ... */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'Array';
  if (typeof value === 'object') return (value as object).constructor?.name ?? 'object';
  return typeof value;
}

/** Whether `for...of` can walk the value (arrays, sets, generators, ...). */
export function isIterable(value: unknown): value is Iterable<unknown> {
  return value != null && typeof (value as Partial<Iterable<unknown>>)[Symbol.iterator] === 'function';
}
