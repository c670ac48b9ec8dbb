/**
 * Which kernels a thread of the lab runs on (the page, or the training worker): the library's
 * backend, its thread count, whether its wasm memory is shared, and whether the page is
 * cross-origin isolated (what makes shared memory possible in a browser; see README "The web lab").
 */
import { backendInfo, type BackendInfo } from '../../src/kernels/index.js';

export interface RuntimeInfo extends BackendInfo {
  /** `crossOriginIsolated` of this global (false where it is undefined, as in Node). */
  crossOriginIsolated: boolean;
}

/** The kernels this thread runs on, from the library (`backendInfo()`). */
export function runtimeInfo(): RuntimeInfo {
  return { ...backendInfo(), crossOriginIsolated: (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true };
}

/**
 * One line for the page: "wasm relaxed SIMD, 2 threads, shared memory", or
 * "wasm SIMD, 1 thread, copies (page not cross-origin isolated)", or "reference kernels (plain TypeScript), 1 thread";
 * thread workers that could not start are named.
 */
export function describeRuntime(r: RuntimeInfo): string {
  const threads = `${r.threads} thread${r.threads === 1 ? '' : 's'}`;
  if (r.backend === 'ref') return `reference kernels (plain TypeScript), ${threads}`;
  if (r.backend !== 'wasm') return `${r.backend} kernels, ${threads}`;
  const simd = r.relaxedSimd ? 'wasm relaxed SIMD' : 'wasm SIMD';
  if (r.sharedMemory) {
    const refused = r.limits.some((l) => l.startsWith('thread workers could not start'));
    return `${simd}, ${threads}, shared memory${refused ? ' (thread workers could not start: a Content-Security-Policy must allow worker-src blob:)' : ''}`;
  }
  return `${simd}, ${threads}, copies${r.crossOriginIsolated ? '' : ' (page not cross-origin isolated)'}`;
}
