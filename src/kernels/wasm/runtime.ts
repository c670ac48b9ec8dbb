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
import { wasmPrivateBase64, wasmPrivateRelaxedBase64, wasmSharedBase64, wasmSharedRelaxedBase64 } from './binary.gen.js';

/** What a platform provides to start workers (Node: ./node.ts; browsers: Web Workers). */
export interface Platform {
  /** Logical cores available. */
  cores(): number;
  /**
   * Starts a worker running `source` (a script defining `start(data)`), handing it `data`; calls
   * `failed` with a message if the worker cannot start or dies (a browser reports a worker that a
   * Content-Security-Policy refuses by an error event, not an exception).
   */
  spawn(source: string, data: unknown, failed: (message: string) => void): { terminate(): void } | null;
  /** Turns on relaxed SIMD where the engine has it behind a flag (Node 20); optional. */
  enableRelaxedSimd?(): void;
}

const EXPORTS = [
  'bnTrainPlanar', 'bnNormalizePlanar', 'bnBackwardPlanar', 'bnRowSums', 'bnRowSumsExact', 'bnNormalizeRows', 'bnRowsDx', 'bnRowsShift', 'bnAddParts', 'bnRowsMean', 'bnRowsShifted', 'bnRowsFinish', 'bnRowsGradCoef',
  'packB', 'gemmTiles', 'gemmPart', 'im2col', 'col2imAdd', 'addBiasRows', 'sumRowsF64', 'sigmoidF32', 'tanhF32', 'sigmoidBackwardF32', 'tanhBackwardF32', 'reluF32',
  'reluBackwardF32', 'copyF32', 'addF32', 'sumF32', 'columnSumsF32', 'sgdF32', 'adamF32', 'maxPool2dF32', 'maxPool2dBackwardF32',
] as const;
export type ExportName = (typeof EXPORTS)[number];
type WasmFn = (...args: number[]) => number;

const PAGE = 65536;
const MAX_PAGES = 65536; // 4 GiB address space (wasm32); only what is used is committed
const ALIGN = 64; // one cache line: SIMD loads never straddle one needlessly
const MAX_THREADS = 16;
const MAX_ARGS = 20;
/** Most parts one call may be split into (a kernel's per-part scratch is indexed by part). */
export const MAX_PARTS = 16;
// Control block: 8 int32 (see WORKER_SOURCE), then MAX_PARTS argument lists of MAX_ARGS float64.
const CTL_BYTES = 32 + 8 * MAX_ARGS * MAX_PARTS;
const MIN_WASM_ELEMENTS = 16; // smaller tensors stay ordinary arrays (copied when used: cheap)

function env(name: string): string | undefined {
  const p = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process;
  return p?.env?.[name];
}

/** A malformed setting in the environment: an error at import, not a silent default. */
export class EnvironmentError extends RangeError {}

/** An environment variable holding a whole number >= min, or undefined when unset or empty. */
export function envInteger(name: string, min: number, unit = ''): number | undefined {
  const raw = env(name);
  if (raw === undefined || raw.trim() === '') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new EnvironmentError(`${name} must be a whole number${unit} >= ${min} (got '${raw}')`);
  return n;
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
  /**
   * Whether the kernels are the relaxed-SIMD build (fused multiply-add): when the engine accepts
   * it and BATCHNORM_WASM_RELAXED is not 0. Results differ from the other build in the last bits.
   */
  readonly relaxed: boolean;
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
  private requestedThreads = 1;
  /** Why this runtime runs on one thread whatever is asked, or null (see `limits`). */
  private readonly oneThreadReason: string | null;
  private spawnFailure: string | null = null;
  /** Why the plain SIMD build runs instead of the relaxed one, or null. */
  private readonly plainReason: string | null;
  private workers: ({ terminate(): void } | null)[] = [];
  private ctl = 0; // the control block (CTL_BYTES)
  private seq = 0;
  /** Per-part 128-byte scratch (edge tiles, activation tails), MAX_PARTS of them. */
  readonly tmp: number[] = [];

  /**
   * `platform` starts thread workers; null where there is none, `noPlatform` then saying why
   * (reported by `limits`).
   */
  constructor(platform: Platform | null, noPlatform = 'no way to start worker threads here') {
    let memory: WebAssembly.Memory | null = null;
    const sharedOff = env('BATCHNORM_WASM_SHARED') === '0';
    if (typeof SharedArrayBuffer !== 'undefined' && !sharedOff) {
      try {
        memory = new WebAssembly.Memory({ initial: 16, maximum: MAX_PAGES, shared: true });
      } catch {
        memory = null;
      }
    }
    this.shared = memory !== null;
    this.oneThreadReason = !this.shared
      ? `the WebAssembly memory is not shared (${sharedOff ? 'BATCHNORM_WASM_SHARED=0' : typeof SharedArrayBuffer === 'undefined' ? 'SharedArrayBuffer is unavailable: a browser page must be cross-origin isolated, with the COOP/COEP headers' : 'a shared memory could not be made'}), so one thread, and each kernel call copies its tensors in and out`
      : platform ? null : noPlatform;
    memory ??= new WebAssembly.Memory({ initial: 16 });
    let binary = decodeBase64(this.shared ? wasmSharedBase64 : wasmPrivateBase64);
    let relaxed = false;
    const relaxedOff = env('BATCHNORM_WASM_RELAXED') === '0';
    if (!relaxedOff) {
      const candidate = decodeBase64(this.shared ? wasmSharedRelaxedBase64 : wasmPrivateRelaxedBase64);
      if (!WebAssembly.validate(candidate as BufferSource)) platform?.enableRelaxedSimd?.();
      if (WebAssembly.validate(candidate as BufferSource)) {
        binary = candidate;
        relaxed = true;
      }
    }
    this.relaxed = relaxed;
    this.plainReason = relaxed ? null : relaxedOff ? 'BATCHNORM_WASM_RELAXED=0' : 'this engine does not validate relaxed SIMD: no fused multiply-add';
    this.module = new WebAssembly.Module(binary as BufferSource);
    this.memory = memory;
    if (this.shared) this.ownBuffers.add(memory.buffer); // a private buffer may detach: never "owned"
    const mb = envInteger('BATCHNORM_WASM_MEMORY_MB', 16, ' of megabytes') ?? 256;
    this.budget = Math.min(MAX_PAGES * PAGE - PAGE, mb * 1024 * 1024);
    const instance = new WebAssembly.Instance(this.module, { env: { memory } });
    this.fns = Object.fromEntries(EXPORTS.map((n) => [n, instance.exports[n] as WasmFn])) as Record<ExportName, WasmFn>;
    this.registry = typeof FinalizationRegistry === 'function'
      ? new FinalizationRegistry<number>((ptr) => {
        this.tensorBytes -= Math.max(0, this.blockSize.get(ptr) ?? 0);
        this.free(ptr);
      })
      : null;
    this.ctl = this.alloc(CTL_BYTES, true);
    new Int32Array(memory.buffer, this.ctl, 8).fill(0);
    for (let t = 0; t < MAX_PARTS; t++) this.tmp.push(this.alloc(128, true));
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
    // None of this class free: above 64 KiB a free block up to twice as large serves before
    // memory grows (every batch size would otherwise take fresh memory; it returns to its own
    // class). At most 16 lookups: the classes there are multiples of `step`.
    if (size > 65536) {
      const step = 2 ** (Math.floor(Math.log2(size)) - 3);
      for (let c = size + step; c <= 2 * size; c += step) {
        const larger = this.freeLists.get(c);
        if (larger && larger.length > 0) {
          const p = larger.pop()!;
          this.blockSize.set(p, c);
          return p;
        }
      }
    }
    // Past the 4 GiB address space a block would wrap around onto the control block and the
    // first tensors (other models' weights): out of memory instead, and the caller falls back.
    if (this.top + size > MAX_PAGES * PAGE) return 0;
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
      if (this.top + size > this.memory.buffer.byteLength) return 0; // grew, but not enough
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
   * Tensor storage: a typed array inside wasm memory when possible (its block returns to the
   * free list when the array is collected), else an ordinary typed array. Zeroed, unless `zero`
   * is false: then a reused block keeps its old values.
   */
  allocate(float32: boolean, size: number, zero = true): FloatArray {
    const bpe = float32 ? 4 : 8;
    if (this.shared && size >= MIN_WASM_ELEMENTS) {
      // The budget counts live tensor blocks (returned when their arrays are collected); a
      // long synchronous loop fills it with garbage, and then gets ordinary arrays.
      const bytes = WasmRuntime.sizeClass(size * bpe);
      const fresh = this.top;
      const p = this.tensorBytes + bytes <= this.budget ? this.alloc(size * bpe) : 0;
      if (p !== 0) {
        // The buffer object the array is made on is registered here, not only at growth: in
        // the conformance suite (many growths, worker threads running) arrays came out on a
        // SharedArrayBuffer object of this memory that growth had not registered, so owns()
        // said no and every kernel call copied them in and out.
        const buffer = this.memory.buffer;
        this.ownBuffers.add(buffer);
        const arr = float32 ? new Float32Array(buffer, p, size) : new Float64Array(buffer, p, size);
        if (zero && p < fresh) arr.fill(0); // a reused block; fresh memory is zero already
        this.tensorBytes += this.blockSize.get(p)!; // the block's own size: a larger free one may serve
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

  /** The size of the block an array from `allocate` occupies (0 for other arrays): what the budget counts for it. */
  blockBytes(a: ArrayBufferView): number {
    return this.owns(a) ? Math.max(0, this.blockSize.get(a.byteOffset) ?? 0) : 0;
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
    const max = this.shared && this.platform && !this.spawnFailure ? MAX_THREADS : 1;
    this.requestedThreads = n;
    this.threads = Math.min(n, max);
  }

  /**
   * What keeps this runtime from its fastest setting, in words (empty when nothing does): why
   * it has one thread, why fewer threads than asked, workers that could not start, the plain
   * SIMD build instead of the relaxed one.
   */
  limits(): string[] {
    const out: string[] = [];
    if (this.oneThreadReason) out.push(`one thread: ${this.oneThreadReason}`);
    else if (this.requestedThreads > this.threads) out.push(`${this.requestedThreads} threads asked, at most ${this.threads} here`);
    if (this.spawnFailure) out.push(`thread workers could not start (${this.spawnFailure}), so one thread; in a browser, a Content-Security-Policy must allow worker-src blob:`);
    if (this.plainReason) out.push(`plain SIMD build (${this.plainReason})`);
    return out;
  }

  /** Default thread count: all cores, at most 8. */
  defaultThreads(): number {
    return this.platform ? Math.max(1, Math.min(8, this.platform.cores())) : 1;
  }

  private ensureWorkers(count: number): void {
    const failed = (message: string): void => this.workerFailed(message);
    while (this.workers.length < count && !this.spawnFailure) {
      let w: { terminate(): void } | null = null;
      try {
        w = this.platform!.spawn(WORKER_SOURCE, { module: this.module, memory: this.memory, ctl: this.ctl, names: EXPORTS }, failed);
      } catch (e) {
        failed(String(e));
        w = null;
      }
      this.workers.push(w);
    }
  }

  /**
   * A worker could not start (or died): the calling thread runs every part from now on, and
   * the runtime says so (`limits`, one thread). Parts are claimed from a shared counter, so a
   * call in progress finishes without the worker.
   */
  private workerFailed(message: string): void {
    this.spawnFailure ??= message;
    this.threads = 1;
  }

  /**
   * Starts the workers for the current thread count and resolves once each has started (its
   * wasm instance made on the shared memory) or failed; a failure leaves this runtime on one
   * thread, with the reason in `limits`. Kernels run without it (workers start on the first
   * split call, and the calling thread runs whatever they do not take); what it adds is that
   * the thread count reported afterwards is the one the kernels get.
   */
  async ready(timeoutMs = 10_000): Promise<void> {
    if (this.threads === 1) return;
    this.ensureWorkers(this.threads - 1);
    const ctl = new Int32Array(this.memory.buffer, this.ctl, 8);
    const spawned = this.workers.length;
    const until = performance.now() + timeoutMs;
    while (!this.spawnFailure && Atomics.load(ctl, 7) < spawned) {
      if (performance.now() > until) {
        this.workerFailed(`${spawned - Atomics.load(ctl, 7)} of ${spawned} thread workers had not started after ${timeoutMs / 1000} s`);
        break;
      }
      await new Promise((ok) => setTimeout(ok, 2));
    }
  }

  /**
   * Runs `fn` on each argument list of `parts` and returns when all are done. Parts are
   * claimed one at a time, by this thread and by the workers, from a shared counter: a worker
   * that is slow to wake, or descheduled on a busy machine, holds up at most the part it is
   * running. A part gives the same result whoever runs it, so results depend only on how the
   * caller split the work.
   */
  run(fn: ExportName, parts: number[][]): void {
    const n = parts.length;
    if (n === 1 || this.threads === 1) {
      for (const a of parts) this.fns[fn](...a);
      return;
    }
    if (n > MAX_PARTS) throw new Error(`wasm backend: ${fn} split into ${n} parts, at most ${MAX_PARTS}`);
    const nargs = parts[0].length;
    if (nargs > MAX_ARGS || parts.some((a) => a.length !== nargs)) {
      throw new Error(`wasm backend: ${fn}: every part needs the same number of arguments, at most ${MAX_ARGS}`);
    }
    this.ensureWorkers(this.threads - 1);
    const buf = this.memory.buffer;
    const ctl = new Int32Array(buf, this.ctl, 8);
    const args = new Float64Array(buf, this.ctl + 32, MAX_ARGS * MAX_PARTS);
    for (let t = 0; t < n; t++) for (let i = 0; i < nargs; i++) args[t * MAX_ARGS + i] = parts[t][i];
    const seq = (this.seq = (this.seq + 1) & 0x7fffff);
    Atomics.store(ctl, 1, EXPORTS.indexOf(fn));
    Atomics.store(ctl, 2, nargs);
    Atomics.store(ctl, 3, n);
    Atomics.store(ctl, 5, 0);
    Atomics.store(ctl, 6, 0);
    Atomics.store(ctl, 4, seq << 8); // the claim counter: job and next part
    Atomics.store(ctl, 0, seq);
    Atomics.notify(ctl, 0);
    const f = this.fns[fn];
    let error: unknown = null;
    for (;;) {
      const v = Atomics.load(ctl, 4);
      const t = v & 255;
      if (t >= n) break;
      if (Atomics.compareExchange(ctl, 4, v, v + 1) !== v) continue;
      try {
        f(...parts[t]);
      } catch (e) {
        error ??= e; // still wait for the workers: they may be writing into this call's memory
      }
      Atomics.add(ctl, 5, 1);
    }
    let spins = 0;
    for (;;) {
      const done = Atomics.load(ctl, 5);
      if (done >= n) break;
      if (++spins > 4000) Atomics.wait(ctl, 5, done, 1);
    }
    if (error !== null) throw error;
    if (Atomics.load(ctl, 6) !== 0) throw new Error(`wasm backend: kernel ${fn} failed in a worker thread`);
  }

  /** Stops the workers (they are restarted on demand). */
  terminate(): void {
    for (const w of this.workers) w?.terminate();
    this.workers = [];
    Atomics.store(new Int32Array(this.memory.buffer, this.ctl, 8), 7, 0); // none started now
  }
}

// The worker: instantiate on the shared memory, count itself started (control word 7), then
// loop: wait for a new sequence number, claim parts and run them until none is left, count each
// done. It spins a while (WORKER_SPIN_MS) before sleeping: the kernels of a training step come
// a few tens of microseconds apart, and a sleeping worker takes longer than that to wake (the
// caller would then run its part itself, and the step would run on one thread). The spin is bounded, so an
// idle process sleeps. A worker that finds no part left although it was spinning (not asleep)
// was descheduled: the cores are oversubscribed, and spinning would only take time from the
// caller, so it stops spinning for WORKER_BACKOFF_MS.
// Control block (int32): 0 job sequence number, 1 fn, 2 arguments per part, 3 parts, 4 claim
// counter (sequence << 8 | next part: a claim made for an older job fails), 5 parts done,
// 6 failed, 7 workers started; then the parts' float64 arguments from byte 32.
const WORKER_SPIN_MS = 0.5;
const WORKER_BACKOFF_MS = 100;
const WORKER_SOURCE = `
function start(data) {
  const instance = new WebAssembly.Instance(data.module, { env: { memory: data.memory } });
  const fns = data.names.map((n) => instance.exports[n]);
  const buf = data.memory.buffer;
  const ctl = new Int32Array(buf, data.ctl, 8);
  const args = new Float64Array(buf, data.ctl + 32, ${MAX_ARGS} * ${MAX_PARTS});
  let seq = Atomics.load(ctl, 0);
  Atomics.add(ctl, 7, 1);
  let quietUntil = 0; // no spinning before this time (oversubscribed cores)
  for (;;) {
    let spins = 0;
    let since = 0;
    let slept = false;
    while (Atomics.load(ctl, 0) === seq) {
      if ((++spins & 255) !== 0) continue;
      const now = performance.now();
      if (since === 0) since = now;
      if (now - since > ${WORKER_SPIN_MS} || now < quietUntil) {
        Atomics.wait(ctl, 0, seq);
        since = 0;
        slept = true;
      }
    }
    seq = Atomics.load(ctl, 0);
    let ran = false;
    for (;;) {
      const v = Atomics.load(ctl, 4);
      if (v >>> 8 !== seq) break; // a newer job: start over
      const t = v & 255;
      const n = Atomics.load(ctl, 3);
      if (t >= n) break;
      if (Atomics.compareExchange(ctl, 4, v, v + 1) !== v) continue;
      try {
        const a = [];
        const nargs = Atomics.load(ctl, 2);
        for (let i = 0; i < nargs; i++) a.push(args[t * ${MAX_ARGS} + i]);
        fns[Atomics.load(ctl, 1)].apply(null, a);
      } catch (e) {
        Atomics.store(ctl, 6, 1);
      }
      if (Atomics.add(ctl, 5, 1) + 1 === n) Atomics.notify(ctl, 5);
      ran = true;
    }
    // Spinning and yet too late for every part: descheduled, so the cores are oversubscribed.
    if (!ran && !slept) quietUntil = performance.now() + ${WORKER_BACKOFF_MS};
  }
}
`;

/**
 * A browser platform: Web Workers from a Blob URL (needs cross-origin isolation for threads),
 * or why there is none.
 */
export function browserPlatform(): Platform | string {
  const g = globalThis as {
    Worker?: new (url: string) => {
      postMessage(d: unknown): void; terminate(): void; addEventListener(type: 'error', fn: (e: Event) => void): void;
    };
    Blob?: typeof Blob; URL?: typeof URL; navigator?: { hardwareConcurrency?: number };
    crossOriginIsolated?: boolean; document?: unknown;
  };
  // A page's main thread may not block (Atomics.wait throws there, and `run` waits for its
  // workers): threads only in workers. The memory stays shared (no copies) either way.
  if (!g.Worker || !g.Blob || !g.URL) return 'no Worker here';
  if (g.crossOriginIsolated === false) return 'the page is not cross-origin isolated (COOP/COEP headers)';
  if (g.document !== undefined) return "a page's main thread may not wait for workers (Atomics.wait): threads run in a Web Worker only";
  return {
    cores: () => g.navigator?.hardwareConcurrency ?? 1,
    spawn(source, data, failed) {
      const url = g.URL!.createObjectURL(new g.Blob!([`${source}\nonmessage = (e) => start(e.data);`], { type: 'text/javascript' }));
      const w = new g.Worker!(url);
      // A worker refused by a Content-Security-Policy (worker-src without blob:) fires an error
      // event (its message is empty then), or its script may throw.
      w.addEventListener('error', (e) => {
        e.preventDefault();
        failed((e as { message?: string }).message || 'the worker was refused or failed to load: see the console');
      });
      w.postMessage(data);
      return w;
    },
  };
}

export { WORKER_SOURCE };
