// Everything Node-specific about the wasm backend: worker_threads and the core count.
// No static `node:` imports, so browser bundles can include this file; under Node the modules
// come from process.getBuiltinModule (Node >= 20.16), synchronously (no top-level await).
import type { Platform } from './runtime.js';

interface NodeWorker {
  unref(): void;
  terminate(): unknown;
  on(event: 'error', fn: (e: unknown) => void): void;
}
interface WorkerThreads {
  Worker: new (code: string, options: { eval: boolean; workerData: unknown; execArgv: string[] }) => NodeWorker;
}
interface V8 {
  setFlagsFromString(flags: string): void;
}
interface Os {
  availableParallelism?: () => number;
  cpus(): unknown[];
}

/** The Node platform, or null outside Node (or on a Node without getBuiltinModule). */
export function nodePlatform(): Platform | null {
  const proc = (globalThis as { process?: { versions?: { node?: string }; getBuiltinModule?: (id: string) => unknown } }).process;
  if (typeof proc?.versions?.node !== 'string' || typeof proc.getBuiltinModule !== 'function') return null;
  const wt = proc.getBuiltinModule('node:worker_threads') as WorkerThreads;
  const os = proc.getBuiltinModule('node:os') as Os;
  const v8 = proc.getBuiltinModule('node:v8') as V8;
  return {
    cores: () => os.availableParallelism?.() ?? os.cpus().length,
    spawn(source, data, failed) {
      const worker = new wt.Worker(`${source}\nstart(require('node:worker_threads').workerData);`, {
        eval: true,
        workerData: data,
        // No tsx or other loaders in the worker: it runs plain JavaScript and wasm only.
        execArgv: [],
      });
      worker.on('error', (e) => failed(String(e)));
      // Idle workers sleep in Atomics.wait; they must not keep the process alive.
      worker.unref();
      return worker;
    },
    // Relaxed SIMD (WebAssembly 3.0) is on by default from V8 11.4 (Node 22, Chrome 114); Node
    // 20's V8 has it complete behind this flag. Setting a V8 flag after start is allowed for
    // features that only widen what validates: modules compiled before are not affected.
    enableRelaxedSimd() {
      v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
    },
  };
}

/** Whether this is Node. */
export function isNode(): boolean {
  const p = (globalThis as { process?: { versions?: { node?: string } } }).process;
  return typeof p?.versions?.node === 'string';
}
