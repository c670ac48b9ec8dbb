import { releaseStorage } from '../kernels/index.js';
import type { FloatArray } from '../kernels/types.js';
import { Tensor } from './tensor.js';
import { describeValue, isThenable } from '../describe.js';

/**
 * Scoped memory release, as TensorFlow.js's `tf.tidy`: the storage of every op output made
 * inside `tidy(fn)` goes back to the allocator when `fn` returns, except what `fn` returns and
 * what was `keep`-ed. Without it that storage returns only after a garbage collection, which a
 * synchronous training loop never gives time to run: every step then writes its activations
 * into fresh memory (page faults), and a long loop fills the wasm budget (README "Speed").
 *
 * Only op outputs are released (what `record` sees: the results of `add`, `linear`,
 * `batchNorm`, ...), and only when their storage was allocated inside the scope, so
 * parameters, gradients, optimizer state, running statistics and tensors made outside are
 * never touched; nor is a tensor made inside with `tensor()`, `zeros()`, ..., even through a
 * view of it (`reshape`, `detach`). A released tensor is disposed: using it throws (never
 * silent garbage).
 */
interface Scope {
  /** Storage allocated while this scope was innermost. */
  readonly fresh: Set<FloatArray>;
  /** Op outputs made while this scope was innermost (views included). */
  readonly outputs: Tensor[];
  /**
   * Storage of the outputs that are not views: what the scope may release. A view (`reshape`,
   * `detach`) shares its input's storage; if that input is not an op output (a tensor made with
   * `tensor()` in the scope, say) the storage is the caller's and must outlive the scope.
   */
  readonly owned: Set<FloatArray>;
}

const scopes: Scope[] = [];
const kept = new WeakSet<FloatArray>();

/** @internal Called by `allocate` for every new storage array. */
export function trackStorage(storage: FloatArray): void {
  if (scopes.length > 0) scopes[scopes.length - 1].fresh.add(storage);
}

/** @internal Called by `record` for every op output; `view` when it shares an input's storage. */
export function trackOutput(t: Tensor, view: boolean): void {
  if (scopes.length === 0) return;
  const scope = scopes[scopes.length - 1];
  scope.outputs.push(t);
  if (!view) scope.owned.add(t.data);
}

/**
 * Keeps `t`'s storage from being released by any enclosing `tidy` (TensorFlow.js's
 * `tf.keep`); returns `t`. Parameters are kept when they are made.
 */
export function keep<T extends Tensor>(t: T): T {
  kept.add(t.data);
  return t;
}

/**
 * The storage of every tensor in `value` (a tensor, or arrays and plain objects holding them),
 * and of every tensor's `.data` returned as it is (the array is the storage).
 */
function collectStorage(value: unknown, out: Set<unknown>, seen: Set<unknown>): void {
  if (value === null || typeof value !== 'object' || seen.has(value)) return;
  seen.add(value);
  if (value instanceof Tensor) {
    if (!value.isDisposed) out.add(value.data);
    return;
  }
  if (ArrayBuffer.isView(value)) {
    // `return t.data`: the array is the storage, which must not be reused under the caller. (A
    // subarray is not: it does not keep its storage from being collected and reused; copy it.)
    out.add(value);
    return;
  }
  if (Array.isArray(value)) {
    for (const v of value) collectStorage(v, out, seen);
    return;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto === Object.prototype || proto === null) {
    for (const v of Object.values(value)) collectStorage(v, out, seen);
  }
}

/**
 * Runs `fn` and then releases the storage of every op output it made, except the tensors it
 * returns (alone, or in arrays and plain objects) and those passed to `keep`. Call
 * `backward()` inside the scope: the graph of a returned tensor refers to released outputs.
 * `fn` must be synchronous. Scopes nest; what an inner scope returns belongs to the outer one.
 * Returning a tensor's `.data` keeps that storage too, so `tidy(() => model.forward(x).data)` is
 * safe; a subarray of it is not (it does not keep its storage from being reused): return
 * `t.data.slice(...)` (a copy) instead.
 * @example
 * for (const [x, y] of batches) {
 *   const loss = tidy(() => {
 *     opt.zeroGrad();
 *     const loss = lossFn.forward(model.forward(x), y);
 *     loss.backward();
 *     opt.step();
 *     return loss.item();
 *   });
 * }
 */
export function tidy<T>(fn: () => T): T;
/** TensorFlow.js's form `tidy('name', fn)`: the scope name is accepted and not used. */
export function tidy<T>(name: string, fn: () => T): T;
export function tidy<T>(nameOrFn: string | (() => T), maybeFn?: () => T): T {
  const fn = typeof nameOrFn === 'string' ? maybeFn : nameOrFn;
  if (typeof fn !== 'function') {
    throw new TypeError(`tidy: expected a function, tidy(fn) or tidy('name', fn) (got ${describeValue(fn)})`);
  }
  const scope: Scope = { fresh: new Set(), outputs: [], owned: new Set() };
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    scopes.splice(scopes.indexOf(scope));
    end(scope, new Set());
    throw e;
  }
  scopes.splice(scopes.indexOf(scope));
  if (isThenable(result)) {
    // Its tensors may still be in use by the pending work: release nothing.
    throw new TypeError('tidy: fn must be synchronous (it returned a Promise)');
  }
  const returned = new Set<unknown>();
  collectStorage(result, returned, new Set());
  end(scope, returned);
  return result;
}

function end(scope: Scope, returned: Set<unknown>): void {
  const parent = scopes.length > 0 ? scopes[scopes.length - 1] : null;
  const release = new Set<FloatArray>();
  for (const d of scope.owned) {
    if (scope.fresh.has(d) && !returned.has(d) && !kept.has(d)) release.add(d);
  }
  for (const t of scope.outputs) {
    if (t.isDisposed) continue;
    const d = t.data;
    if (release.has(d)) {
      t.markDisposed();
    } else if (parent) {
      parent.outputs.push(t);
      if (scope.fresh.has(d)) parent.fresh.add(d);
      if (scope.owned.has(d)) parent.owned.add(d);
    }
  }
  for (const d of release) releaseStorage(d);
}
