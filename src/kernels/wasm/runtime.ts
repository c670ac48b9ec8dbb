// The WebAssembly runtime behind the `wasm` backend: one module, one memory, an allocator over
// that memory, and a pool of threads running the same kernels on it.
//
// Memory design (see README "Speed"):
// - One WebAssembly.Memory, shared (SharedArrayBuffer-backed) when the platform allows it. A
//   shared memory never detaches its old buffers when it grows, so typed-array views handed out
//   earlier stay valid: tensor storage can live in it (`allocate` below), and kernels run on it
//   with no copy in or out.
// - The kernels are pure functions on pointers (no AssemblyScript runtime, no data segments), so
//   every thread instantiates the module on the same memory and all of them agree on every byte.
// - This file owns the allocator: size classes with free lists (reusing blocks avoids the page
//   faults of fresh memory), a bump pointer above them, and a FinalizationRegistry that returns a
//   tensor's block when its typed array is collected. Past a budget (BATCHNORM_WASM_MEMORY_MB,
//   default 256) storage falls back to ordinary typed arrays; kernels copy those in and out.
//   Note: collection runs between tasks, so a long synchronous loop only gets blocks back
//   after it yields (until then it uses the budget, then ordinary arrays).
// - Without SharedArrayBuffer (a browser page that is not cross-origin isolated) the memory is
//   private, may detach on growth, and so holds only per-call scratch: storage stays in ordinary
//   typed arrays, every call copies, and there is one thread.
//
// Threads: workers started from an inline script (no file to locate, the same code in Node and
// in a browser), each with its own instance on the shared memory, woken through Atomics on a
// control block. The calling thread runs part 0 of every split itself and then waits; a worker
// that has not started yet has its part run by the caller too, so a split (and so every result)
// depends only on the thread count. Node-specific code (worker_threads, os) is in ./node.ts.
import type { FloatArray } from '../types.js';
import { wasmPrivateBase64, wasmSharedBase64 } from './binary.gen.js';

/** What a platform provides to start workers (Node: ./node.ts; browsers: Web Workers). */
export interface Platform {
  /** Logical cores available. */
  cores(): number;
  /** Starts a worker running `source` (a script defining `start(data)`), handing it `data`. */
  spawn(source: string, data: unknown): { terminate(): void } | null;
}

const EXPORTS = [
  'bnTrainPlanar', 'bnNormalizePlanar', 'bnBackwardPlanar', 'bnTrainRows', 'bnNormalizeRows', 'bnBackwardRows',
  'packB', 'gemmTiles', 'gemmPart', 'im2col', 'col2imAdd', 'addBiasRows', 'sumRowsF64', 'sigmoidF32', 'tanhF32', 'sigmoidBackwardF32', 'tanhBackwardF32', 'reluF32',
  'reluBackwardF32', 'copyF32', 'addF32', 'sumF32', 'columnSumsF32', 'sgdF32', 'adamF32',
] as const;
export type ExportName = (typeof EXPORTS)[number];
type WasmFn = (...args: number[]) => number;

const PAGE = 65536;
const MAX_PAGES = 65536; // 4 GiB address space (wasm32); only what is used is committed
const ALIGN = 64; // one cache line: SIMD loads never straddle one needlessly
const MAX_THREADS = 16;
const MAX_ARGS = 20;
const CTL_STRIDE = 32 + 8 * MAX_ARGS; // bytes per worker slot: 8 int32 of control + MAX_ARGS float64 arguments
const MIN_WASM_ELEMENTS = 16; // smaller tensors stay ordinary arrays (copied when used: cheap)

function env(name: string): string | undefined {
  const p = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process;
  return p?.env?.[name];
}

function decodeBase64(s: string): Uint8Array {
  const B = (globalThis as { Buffer?: { from(s: string, e: string): Uint8Array } }).Buffer;
  if (B) return new Uint8Array(B.from(s, 'base64'));
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** The runtime state; created once by `createRuntime`. */
export class WasmRuntime {
  readonly module: WebAssembly.Module;
  readonly memory: WebAssembly.Memory;
  /** Whether the memory is shared (storage in wasm memory, threads possible). */
  readonly shared: boolean;
  readonly fns: Record<ExportName, WasmFn>;
  private readonly ownBuffers = new WeakSet<ArrayBufferLike>();
  private top = PAGE; // page 0 stays unused: pointer 0 means "null" to the kernels
  private readonly budget: number;
  private tensorBytes = 0; // live tensor storage in wasm memory
  private readonly freeLists = new Map<number, number[]>();
  // Every block ever carved from the bump pointer keeps its size for good (blocks are never
  // split or merged): positive while in use, negative while on a free list. Entries are never
  // deleted, so the map only grows when memory does (deleting and re-adding keys on every
  // allocation made V8 rehash it, which cost microseconds per call).
  private readonly blockSize = new Map<number, number>();
  private readonly registry: FinalizationRegistry<number> | null;
  private platform: Platform | null = null;
  private threads = 1;
  private workers: ({ terminate(): void } | null)[] = [];
  private ctl = 0; // control block: MAX_THREADS slots of CTL_STRIDE bytes
  private seq = 0;
  /** Per-thread 128-byte scratch (edge tiles, activation tails). */
  readonly tmp: number[] = [];

  constructor(platform: Platform | null) {
    let memory: WebAssembly.Memory | null = null;
    if (typeof SharedArrayBuffer !== 'undefined' && env('BATCHNORM_WASM_SHARED') !== '0') {
      try {
        memory = new WebAssembly.Memory({ initial: 16, maximum: MAX_PAGES, shared: true });
      } catch {
        memory = null;
      }
    }
    this.shared = memory !== null;
    memory ??= new WebAssembly.Memory({ initial: 16 });
    this.module = new WebAssembly.Module(decodeBase64(this.shared ? wasmSharedBase64 : wasmPrivateBase64) as BufferSource);
    this.memory = memory;
    if (this.shared) this.ownBuffers.add(memory.buffer); // a private buffer may detach: never "owned"
    const mb = Number(env('BATCHNORM_WASM_MEMORY_MB') ?? 256);
    this.budget = Math.min(MAX_PAGES * PAGE - PAGE, Math.max(16, mb) * 1024 * 1024);
    const instance = new WebAssembly.Instance(this.module, { env: { memory } });
    this.fns = Object.fromEntries(EXPORTS.map((n) => [n, instance.exports[n] as WasmFn])) as Record<ExportName, WasmFn>;
    this.registry = typeof FinalizationRegistry === 'function'
      ? new FinalizationRegistry<number>((ptr) => {
        this.tensorBytes -= Math.max(0, this.blockSize.get(ptr) ?? 0);
        this.free(ptr);
      })
      : null;
    this.ctl = this.alloc(MAX_THREADS * CTL_STRIDE, true);
    for (let t = 0; t < MAX_THREADS; t++) this.tmp.push(this.alloc(128, true));
    this.platform = platform;
  }

  // ------------------------------------------------------------------------------------------
  // Allocation

  private static sizeClass(bytes: number): number {
    const b = Math.max(ALIGN, Math.ceil(bytes / ALIGN) * ALIGN);
    if (b <= 65536) return b;
    // Above 64 KiB: 8 classes per power of two (at most 12.5% unused), so similar sizes share.
    const step = 2 ** (Math.floor(Math.log2(b)) - 3);
    return Math.ceil(b / step) * step;
  }

  /**
   * A block of at least `bytes` (64-byte aligned), or 0 when out of memory. Not zeroed when
   * reused. Only tensor storage (`allocate`) counts against the budget; kernel scratch is freed
   * at the end of each call, so a budget filled by garbage tensors never sends kernels to the
   * slow path.
   */
  alloc(bytes: number, permanent = false): number {
    const size = WasmRuntime.sizeClass(bytes);
    const list = this.freeLists.get(size);
    if (list && list.length > 0) {
      const p = list.pop()!;
      this.blockSize.set(p, size); // an existing key: updated in place, the map does not churn
      return p;
    }
    const need = this.top + size - this.memory.buffer.byteLength;
    if (need > 0) {
      try {
        // Grow generously (at least 1/8 of what we have) so growth is rare.
        const pages = Math.max(Math.ceil(need / PAGE), Math.ceil(this.memory.buffer.byteLength / PAGE / 8));
        this.memory.grow(Math.min(pages, MAX_PAGES - this.memory.buffer.byteLength / PAGE));
      } catch {
        return 0;
      }
      if (this.shared) this.ownBuffers.add(this.memory.buffer);
    }
    const p = this.top;
    this.top += size;
    if (!permanent) this.blockSize.set(p, size);
    return p;
  }

  /** Returns a block from `alloc` to its free list. */
  free(ptr: number): void {
    const size = this.blockSize.get(ptr);
    if (size === undefined || size < 0) return; // not a block, or free already
    this.blockSize.set(ptr, -size);
    let list = this.freeLists.get(size);
    if (!list) this.freeLists.set(size, (list = []));
    list.push(ptr);
  }

  /**
   * Tensor storage: a zeroed typed array inside wasm memory when possible (returned to the free
   * list when the array is collected), else an ordinary typed array.
   */
  allocate(float32: boolean, size: number): FloatArray {
    const bpe = float32 ? 4 : 8;
    if (this.shared && size >= MIN_WASM_ELEMENTS) {
      // The budget counts live tensor blocks (returned when their arrays are collected); a
      // long synchronous loop fills it with garbage, and then gets ordinary arrays.
      const bytes = WasmRuntime.sizeClass(size * bpe);
      const fresh = this.top;
      const p = this.tensorBytes + bytes <= this.budget ? this.alloc(size * bpe) : 0;
      if (p !== 0) {
        const arr = float32 ? new Float32Array(this.memory.buffer, p, size) : new Float64Array(this.memory.buffer, p, size);
        if (p < fresh) arr.fill(0); // a reused block; fresh memory is zero already
        this.tensorBytes += bytes;
        this.registry?.register(arr, p, arr);
        return arr;
      }
    }
    return float32 ? new Float32Array(size) : new Float64Array(size);
  }

  /**
   * Returns the block of an array from `allocate` now, without waiting for it to be collected.
   * For storage nothing else can reach any more (the autograd's intermediate gradients); the
   * array must not be used afterwards. Arrays that are not whole blocks of this memory are
   * ignored.
   */
  release(a: FloatArray): void {
    if (!this.owns(a) || !this.registry) return;
    const p = a.byteOffset;
    const size = this.blockSize.get(p);
    if (size === undefined || size < 0 || a.byteLength > size) return;
    // Unregistering fails for an array that was not registered (a subarray, kernel scratch).
    if (!this.registry.unregister(a)) return;
    this.tensorBytes -= size;
    this.free(p);
  }

  /** Whether `a` lives in this runtime's memory (then its pointer is `a.byteOffset`). */
  owns(a: ArrayBufferView): boolean {
    return this.ownBuffers.has(a.buffer);
  }

  /** Bytes of wasm memory in use by blocks and free lists, and the memory's size. */
  stats(): { top: number; memoryBytes: number; freeBlocks: number; tensorBytes: number } {
    let freeBlocks = 0;
    for (const l of this.freeLists.values()) freeBlocks += l.length;
    return { top: this.top, memoryBytes: this.memory.buffer.byteLength, freeBlocks, tensorBytes: this.tensorBytes };
  }

  f32(ptr: number, len: number): Float32Array {
    return new Float32Array(this.memory.buffer, ptr, len);
  }

  f64(ptr: number, len: number): Float64Array {
    return new Float64Array(this.memory.buffer, ptr, len);
  }

  // ------------------------------------------------------------------------------------------
  // Threads

  /** The number of threads a split uses (1 = the calling thread only). */
  numThreads(): number {
    return this.threads;
  }

  /** Sets the thread count (clamped to 1..16; 1 without shared memory or a platform). */
  setNumThreads(n: number): void {
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`setNumThreads: expected a positive integer (got ${n})`);
    const max = this.shared && this.platform ? MAX_THREADS : 1;
    this.threads = Math.min(n, max);
  }

  /** Default thread count: all cores, at most 8. */
  defaultThreads(): number {
    return this.platform ? Math.max(1, Math.min(8, this.platform.cores())) : 1;
  }

  private ensureWorkers(count: number): void {
    while (this.workers.length < count) {
      const slot = this.workers.length + 1;
      const i32 = new Int32Array(this.memory.buffer, this.ctl + slot * CTL_STRIDE, 8);
      i32.fill(0);
      let w: { terminate(): void } | null = null;
      try {
        w = this.platform!.spawn(WORKER_SOURCE, {
          module: this.module, memory: this.memory, ctl: this.ctl + slot * CTL_STRIDE, names: EXPORTS,
        });
      } catch {
        w = null;
      }
      this.workers.push(w);
    }
  }

  /**
   * Runs `fn` on `parts.length` argument lists, part 0 on this thread and part t on worker t,
   * and returns when all are done. Parts of workers that are not running yet run here.
   */
  run(fn: ExportName, parts: number[][]): void {
    if (parts.length === 1) {
      this.fns[fn](...parts[0]);
      return;
    }
    this.ensureWorkers(parts.length - 1);
    const seq = ++this.seq;
    const buf = this.memory.buffer;
    const fnIndex = EXPORTS.indexOf(fn);
    const started: number[] = [];
    const local: number[] = [0];
    for (let t = 1; t < parts.length; t++) {
      const base = this.ctl + t * CTL_STRIDE;
      const i32 = new Int32Array(buf, base, 8);
      if (this.workers[t - 1] === null || Atomics.load(i32, 5) !== 1) {
        local.push(t);
        continue;
      }
      const args = new Float64Array(buf, base + 32, MAX_ARGS);
      const a = parts[t];
      if (a.length > MAX_ARGS) throw new Error(`wasm backend: ${fn} takes ${a.length} arguments, a worker slot holds ${MAX_ARGS}`);
      for (let i = 0; i < a.length; i++) args[i] = a[i];
      i32[1] = fnIndex;
      i32[2] = a.length;
      Atomics.store(i32, 6, 0); // unclaimed
      Atomics.store(i32, 0, seq);
      Atomics.notify(i32, 0);
      started.push(t);
    }
    for (const t of local) this.fns[fn](...parts[t]);
    let failed = false;
    for (const t of started) {
      const i32 = new Int32Array(buf, this.ctl + t * CTL_STRIDE, 8);
      // A worker that has not claimed its part yet (descheduled on a busy machine) loses it:
      // this thread runs it. The same part gives the same result whoever runs it.
      if (Atomics.compareExchange(i32, 6, 0, 1) === 0) {
        this.fns[fn](...parts[t]);
        continue;
      }
      let spins = 0;
      for (;;) {
        const done = Atomics.load(i32, 4);
        if (done === seq) break;
        if (++spins > 4000) Atomics.wait(i32, 4, done, 1000);
      }
      if (i32[3] !== 0) failed = true;
    }
    if (failed) throw new Error(`wasm backend: kernel ${fn} failed in a worker thread`);
  }

  /** Stops the workers (they are restarted on demand). */
  terminate(): void {
    for (const w of this.workers) w?.terminate();
    this.workers = [];
  }
}

// The worker: instantiate on the shared memory, mark ready, then loop: wait for a new sequence
// number in its control slot, run the named export on the arguments, publish done. It spins a
// while (WORKER_SPIN_MS) before sleeping: the kernels of a training step come a few tens of
// microseconds apart, and a sleeping worker takes longer than that to wake (the caller would
// then run its part itself, and the step would run on one thread). The spin is bounded, so an
// idle process sleeps.
// Control slot (int32): 0 seq, 1 fn, 2 nargs, 3 status, 4 done, 5 ready, 6 claimed; float64
// args at byte 32 (MAX_ARGS of them). A part is run by whoever claims it first (compareExchange on 6).
const WORKER_SPIN_MS = 0.5;
const WORKER_SOURCE = `
function start(data) {
  const instance = new WebAssembly.Instance(data.module, { env: { memory: data.memory } });
  const fns = data.names.map((n) => instance.exports[n]);
  const buf = data.memory.buffer;
  const ctl = new Int32Array(buf, data.ctl, 8);
  const args = new Float64Array(buf, data.ctl + 32, ${MAX_ARGS});
  let seq = Atomics.load(ctl, 0);
  Atomics.store(ctl, 5, 1);
  for (;;) {
    let spins = 0;
    let since = 0;
    while (Atomics.load(ctl, 0) === seq) {
      if ((++spins & 255) !== 0) continue;
      const now = performance.now();
      if (since === 0) since = now;
      else if (now - since > ${WORKER_SPIN_MS}) {
        Atomics.wait(ctl, 0, seq);
        since = 0;
      }
    }
    seq = Atomics.load(ctl, 0);
    // Claim the part; the caller may have taken it already (then only acknowledge).
    if (Atomics.compareExchange(ctl, 6, 0, 1) === 0) {
      let status = 0;
      try {
        const n = ctl[2];
        const a = [];
        for (let i = 0; i < n; i++) a.push(args[i]);
        fns[ctl[1]].apply(null, a);
      } catch (e) {
        status = 1;
      }
      ctl[3] = status;
    }
    Atomics.store(ctl, 4, seq);
    Atomics.notify(ctl, 4);
  }
}
`;

/** A browser platform: Web Workers from a Blob URL (needs cross-origin isolation for threads). */
export function browserPlatform(): Platform | null {
  const g = globalThis as {
    Worker?: new (url: string) => { postMessage(d: unknown): void; terminate(): void };
    Blob?: typeof Blob; URL?: typeof URL; navigator?: { hardwareConcurrency?: number };
    crossOriginIsolated?: boolean; document?: unknown;
  };
  // A page's main thread may not block (Atomics.wait throws there, and `run` waits for its
  // workers): threads only in workers. The memory stays shared (no copies) either way.
  if (!g.Worker || !g.Blob || !g.URL || g.crossOriginIsolated === false || g.document !== undefined) return null;
  return {
    cores: () => g.navigator?.hardwareConcurrency ?? 1,
    spawn(source, data) {
      const url = g.URL!.createObjectURL(new g.Blob!([`${source}\nonmessage = (e) => start(e.data);`], { type: 'text/javascript' }));
      const w = new g.Worker!(url);
      w.postMessage(data);
      return w;
    },
  };
}

export { WORKER_SOURCE };
