/**
 * The two response headers that make the lab cross-origin isolated (`crossOriginIsolated === true`):
 * the page then has SharedArrayBuffer, so the wasm backend keeps tensors in its shared memory (no
 * copies) and splits kernels over worker threads. Without them the page works the same, on one
 * thread with copies. Sent by the Vite dev and preview servers (vite.config.ts) and the tests'
 * static server (e2e.ts). Every resource of the lab is same-origin, so require-corp blocks nothing.
 */
export const ISOLATION_HEADERS = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
} as const;
