import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';
import { ISOLATION_HEADERS } from './isolation.js';
import { MNIST_FILES, readMnistSubset } from './mnistData.js';

/** Serves the MNIST subset at ./mnist/<file> in dev and writes it into the build: no network. */
function mnistPlugin(): Plugin {
  return {
    name: 'batchnorm-mnist',
    configureServer(server) {
      server.middlewares.use((req, res, next) => {
        const m = /\/mnist\/([\w-]+)$/.exec((req.url ?? '').split('?')[0]);
        if (!m || !(m[1] in MNIST_FILES)) return next();
        const body = readMnistSubset(m[1]);
        res.setHeader('Content-Type', 'application/octet-stream');
        res.setHeader('Content-Length', body.length);
        res.end(Buffer.from(body));
      });
    },
    generateBundle() {
      for (const name of Object.keys(MNIST_FILES)) {
        this.emitFile({ type: 'asset', fileName: `mnist/${name}`, source: readMnistSubset(name) });
      }
    },
  };
}

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: './',
  plugins: [mnistPlugin()],
  worker: { format: 'es' },
  build: {
    outDir: fileURLToPath(new URL('../dist-web', import.meta.url)),
    emptyOutDir: true,
    chunkSizeWarningLimit: 2000,
  },
  // Cross-origin isolation: shared wasm memory and threads (README, "The web lab").
  server: { host: '127.0.0.1', headers: ISOLATION_HEADERS },
  preview: { host: '127.0.0.1', headers: ISOLATION_HEADERS },
});
