import type { Backend, Kernels } from './types.js';
import { refKernels } from './ref/index.js';

export type { Backend, BNDims, Conv2dDims, FloatArray, KernelName, Kernels, Pool2dDims } from './types.js';
export { refKernels } from './ref/index.js';

const backends = new Map<string, Backend>([['ref', { name: 'ref', kernels: refKernels }]]);
let activeName = 'ref';
let active: Kernels = refKernels;

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
    throw new Error(`unknown backend '${name}' (available: ${[...backends.keys()].join(', ')})`);
  }
  active = { ...refKernels, ...backend.kernels };
  activeName = name;
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
