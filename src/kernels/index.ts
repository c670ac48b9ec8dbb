import type { Backend, FloatArray, Kernels } from './types.js';
import { refKernels } from './ref/index.js';
import { wasmBackend, wasmUnavailable } from './wasm/index.js';

export type { AdamHyper, Backend, BNDims, Conv2dDims, FloatArray, KernelName, Kernels, Pool2dDims, SgdHyper } from './types.js';
export { refKernels } from './ref/index.js';

const backends = new Map<string, Backend>([['ref', { name: 'ref', kernels: refKernels }]]);
let activeName = 'ref';
let active: Kernels = refKernels;
let activeBackend: Backend = backends.get('ref')!;

/**
 * Makes a backend available to `setBackend`. Its kernels may be partial: whatever it lacks
 * falls back to the reference kernels. Registering does not activate it.
 */
export function registerBackend(backend: Backend): void {
  backends.set(backend.name, backend);
}

/** Selects the backend the ops use, e.g. `setBackend('ref')`. */
export function setBackend(name: string): void {
  const backend = backends.get(name);
  if (!backend) {
    const why = name === 'wasm' && wasmUnavailable ? `: ${wasmUnavailable}` : '';
    throw new Error(`unknown backend '${name}' (available: ${[...backends.keys()].join(', ')})${why}`);
  }
  active = { ...refKernels, ...backend.kernels };
  activeName = name;
  activeBackend = backend;
}

/** The name of the active backend. */
export function getBackend(): string {
  return activeName;
}

/** The names of the registered backends. */
export function listBackends(): string[] {
  return [...backends.keys()];
}

/** The active kernel table (complete: missing kernels are filled from `ref`). */
export function kernels(): Kernels {
  return active;
}

/**
 * Storage for a new tensor, zero-filled (unless `zero` is false: then only fresh memory is
 * zero, a reused block keeps old values; for outputs a kernel overwrites): the active backend's (the `wasm` backend places it in
 * WebAssembly memory, where its kernels read it without copying) or an ordinary typed array.
 */
export function allocateStorage(float32: boolean, size: number, zero = true): FloatArray {
  if (activeBackend.allocate) return activeBackend.allocate(float32, size, zero);
  return float32 ? new Float32Array(size) : new Float64Array(size);
}

/**
 * Hands storage from `allocateStorage` back to the backend that made it, for reuse at once.
 * Only for arrays nothing can reach any more (the autograd's intermediate gradients). Storage
 * from another backend, or ordinary arrays, are left to the garbage collector.
 */
export function releaseStorage(storage: FloatArray): void {
  for (const b of backends.values()) b.release?.(storage);
}

/**
 * Sets the number of threads the active backend splits kernels over (like
 * `torch.set_num_threads`). The `wasm` backend uses worker threads sharing its memory; the
 * default is the number of cores (at most 8), or the environment variable BATCHNORM_THREADS.
 * Results are bit-identical from run to run for a given thread count.
 */
export function setNumThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`setNumThreads: expected a positive integer (got ${n})`);
  for (const b of backends.values()) b.setNumThreads?.(n);
}

/** The number of threads the active backend splits kernels over (1 for `ref`). */
export function getNumThreads(): number {
  return activeBackend.getNumThreads?.() ?? 1;
}

/** How the kernels run on this thread: see `backendInfo()`. */
export interface BackendInfo {
  /** The active backend (`getBackend()`): 'wasm', or 'ref' (plain TypeScript, several times slower). */
  backend: string;
  /** Threads its kernels split over (`getNumThreads()`). */
  threads: number;
  /**
   * Tensors live in shared WebAssembly memory: kernels read them without copying, threads are
   * possible. Their `.data` is then a view of a SharedArrayBuffer, which some browser APIs refuse
   * (`new Blob([t.data])`, `new ImageData(...)`): pass them a copy, `t.data.slice()`.
   */
  sharedMemory: boolean;
  /** The relaxed-SIMD build (fused multiply-add) of the wasm kernels is in use. */
  relaxedSimd: boolean;
  /** What keeps this thread from the fastest setting, in words; empty when nothing does. */
  limits: string[];
}

/**
 * How the kernels run on this thread, and what (if anything) keeps them from the fastest
 * setting: a page that is not cross-origin isolated (no shared memory: one thread and copies),
 * a page's main thread (threads run in a Web Worker only), a Content-Security-Policy that
 * refuses WebAssembly compilation ('wasm-unsafe-eval') or blob: workers.
 * @example console.log(backendInfo());
 * // { backend: 'wasm', threads: 2, sharedMemory: true, relaxedSimd: true, limits: [] }
 */
export function backendInfo(): BackendInfo {
  const details = activeBackend.info?.() ?? { sharedMemory: false, relaxedSimd: false, limits: [] };
  const limits = [...details.limits];
  if (activeName === 'ref') {
    limits.unshift(wasmUnavailable ?? "the reference kernels were chosen (setBackend('ref') or BATCHNORM_BACKEND=ref); 'wasm' is available");
  }
  return { backend: activeName, threads: getNumThreads(), ...details, limits };
}

/**
 * Starts the active backend's thread workers and resolves, with `backendInfo()`, once each has
 * started or failed (as TensorFlow.js's `tf.ready()`). Kernels do not need it: workers otherwise
 * start with the first kernel call that splits its work, and the calling thread runs whatever
 * they do not take. What it gives is a `backendInfo()` that is true: in a browser whose
 * Content-Security-Policy refuses blob: workers, the refusal arrives as an event after the
 * worker was made, and only then does the runtime know it has one thread (`threads: 1`, the
 * reason in `limits`).
 * @example const info = await ready();
 * // { backend: 'wasm', threads: 2, sharedMemory: true, relaxedSimd: true, limits: [] }
 */
export async function ready(): Promise<BackendInfo> {
  await activeBackend.ready?.();
  return backendInfo();
}

// The fastest available backend is the default; BATCHNORM_BACKEND=ref|wasm chooses one.
if (wasmBackend) registerBackend(wasmBackend);
{
  const requested = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.BATCHNORM_BACKEND;
  if (requested) setBackend(requested);
  else if (wasmBackend) setBackend('wasm');
}
