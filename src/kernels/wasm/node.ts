// Everything Node-specific about the wasm backend: worker_threads and the core count.
// No static `node:` imports, so browser bundles can include this file; under Node the modules
// come from process.getBuiltinModule (Node >= 20.16), synchronously (no top-level await).
import type { Platform } from './runtime.js';

interface NodeWorker {
  unref(): void;
  terminate(): unknown;
}
interface WorkerThreads {
  Worker: new (code: string, options: { eval: boolean; workerData: unknown; execArgv: string[] }) => NodeWorker;
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
  return {
    cores: () => os.availableParallelism?.() ?? os.cpus().length,
    spawn(source, data) {
      const worker = new wt.Worker(`${source}\nstart(require('node:worker_threads').workerData);`, {
        eval: true,
        workerData: data,
        // No tsx or other loaders in the worker: it runs plain JavaScript and wasm only.
        execArgv: [],
      });
      // Idle workers sleep in Atomics.wait; they must not keep the process alive.
      worker.unref();
      return worker;
    },
  };
}

/** Whether this is Node. */
export function isNode(): boolean {
  const p = (globalThis as { process?: { versions?: { node?: string } } }).process;
  return typeof p?.versions?.node === 'string';
}
