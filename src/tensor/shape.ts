/** Shape helpers shared by the tensor and the ops. */
import { checkOptions, describeValue } from '../describe.js';

export type Shape = readonly number[];

export function sizeOf(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Row-major (C-contiguous) strides. */
export function stridesOf(shape: Shape): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i];
  }
  return strides;
}

/** PyTorch prints shapes as torch.Size([2, 3]); we print [2, 3]. */
export function formatShape(shape: Shape): string {
  return `[${shape.join(', ')}]`;
}

export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export function checkShape(shape: Shape): number[] {
  if (!Array.isArray(shape)) {
    throw new TypeError(`shape must be an array of non-negative integers (got ${describeShapeArg(shape)})`);
  }
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) {
      throw new RangeError(`shape must contain non-negative integers (got ${formatShape(shape)})`);
    }
  }
  return [...shape];
}

/** A value where a shape or a dimension was expected: its kind, and a primitive's value ('number 2', 'Array'). */
function describeShapeArg(v: unknown): string {
  return typeof v === 'object' || v === undefined ? describeValue(v) : `${typeof v} ${String(v)}`;
}

/** The arguments of a creation function: `(shape, options?)` or `(...dims, options?)`. */
export type ShapeArgs<O> = [shape: Shape, options?: O] | number[] | [...dims: number[], options: O];

/**
 * The shape of a creation function called either as `zeros([2, 3], options)` or, as in
 * PyTorch, `zeros(2, 3)` / `zeros(2, 3, options)`: the dimensions and the options object.
 */
export function shapeArgs<O extends object>(name: string, given: readonly unknown[], allowed: readonly string[]): [number[], O] {
  // `zeros(shape, options)` with options undefined is the array form without options.
  const args = given.length === 2 && given[1] === undefined ? given.slice(0, 1) : given;
  const last = args[args.length - 1];
  const hasOptions = args.length > 0 && typeof last === 'object' && last !== null && !Array.isArray(last);
  const dims = hasOptions ? args.slice(0, -1) : args;
  const options = (hasOptions ? last : {}) as O;
  checkOptions(`${name}()`, options, allowed);
  if (dims.length === 0) throw new TypeError(`${name}(): missing the shape (an array, or integers as arguments)`);
  if (dims.length === 1 && Array.isArray(dims[0])) return [checkShape(dims[0] as Shape), options];
  if (dims.every((d) => typeof d === 'number')) return [checkShape(dims as number[]), options];
  throw new TypeError(
    `${name}(): expected a shape as an array or as integers (got ${dims.map(describeShapeArg).join(', ') || 'nothing'})`,
  );
}

/** Resolves a possibly negative dimension index against `ndim` (PyTorch's wording on error). */
export function normalizeDim(dim: number, ndim: number): number {
  const lo = -Math.max(ndim, 1);
  const hi = Math.max(ndim, 1) - 1;
  if (!Number.isInteger(dim) || dim < lo || dim > hi) {
    throw new RangeError(`Dimension out of range (expected to be in range of [${lo}, ${hi}], but got ${dim})`);
  }
  return dim < 0 ? dim + Math.max(ndim, 1) : dim;
}

/** numpy/PyTorch broadcasting of two shapes. */
export function broadcastShapes(a: Shape, b: Shape): number[] {
  const ndim = Math.max(a.length, b.length);
  const out = new Array<number>(ndim);
  for (let i = 0; i < ndim; i++) {
    const da = a[a.length - ndim + i] ?? 1;
    const db = b[b.length - ndim + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new RangeError(
        `The size of tensor a (${da}) must match the size of tensor b (${db}) at non-singleton dimension ${i}` +
          ` (shapes ${formatShape(a)} and ${formatShape(b)})`,
      );
    }
    out[i] = da === 1 ? db : da;
  }
  return out;
}
