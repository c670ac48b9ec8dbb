/**
 * The IDX file format of MNIST and Fashion-MNIST (http://yann.lecun.com/exdb/mnist/):
 *
 *   bytes 0-1   0x00 0x00
 *   byte  2     element type (0x08 = unsigned byte, the only one these datasets use)
 *   byte  3     number of dimensions d
 *   then d big-endian uint32 sizes, then the elements, row-major.
 *
 * Pure functions of bytes, no Node imports: the web lab parses the bytes it fetched with them.
 * Node's file reading (and gunzip) lives in idxFile.ts.
 */
import { checkSize, formatValue } from '../describe.js';

/** A parsed IDX array of unsigned bytes. */
export interface IdxArray {
  /** Sizes of the dimensions, e.g. [60000, 28, 28]. */
  dims: number[];
  /** The elements, row-major (a view into the parsed bytes, not a copy). */
  data: Uint8Array;
}

const TYPE_NAMES: Record<number, string> = {
  0x08: 'unsigned byte', 0x09: 'signed byte', 0x0b: 'short', 0x0c: 'int', 0x0d: 'float', 0x0e: 'double',
};

/**
 * Parses an IDX file of unsigned bytes. `name` (usually the file's path) is named in every error:
 * wrong magic number, unsupported element type, a header or data shorter than declared, or
 * bytes left over after the data.
 * @example const { dims, data } = parseIdx(bytes, 'train-labels-idx1-ubyte'); // dims [60000]
 */
export function parseIdx(bytes: Uint8Array, name: string): IdxArray {
  if (bytes.length < 4) {
    throw new Error(`${name}: not an IDX file: ${bytes.length} bytes, shorter than the 4-byte magic number`);
  }
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    const magic = Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
    throw new Error(`${name}: not an IDX file: wrong magic number ${magic} (expected 00 00 08 <dims>)`);
  }
  const type = bytes[2];
  if (type !== 0x08) {
    const what = TYPE_NAMES[type] ? `${TYPE_NAMES[type]} (0x${type.toString(16).padStart(2, '0')})` : `unknown type 0x${type.toString(16).padStart(2, '0')}`;
    throw new Error(`${name}: unsupported IDX element type ${what}; expected unsigned byte (0x08)`);
  }
  const ndim = bytes[3];
  if (ndim === 0) throw new Error(`${name}: IDX header declares 0 dimensions`);
  const headerSize = 4 + 4 * ndim;
  if (bytes.length < headerSize) {
    throw new Error(`${name}: truncated IDX header: ${bytes.length} bytes, the header of a ${ndim}-dimensional array needs ${headerSize}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims: number[] = [];
  let size = 1;
  for (let d = 0; d < ndim; d++) {
    const n = view.getUint32(4 + 4 * d, false);
    dims.push(n);
    size *= n;
  }
  const available = bytes.length - headerSize;
  if (available < size) {
    throw new Error(
      `${name}: truncated IDX file: dims [${dims.join(', ')}] need ${size} data bytes, found ${available} ` +
        `(file ${bytes.length} bytes, expected ${headerSize + size})`,
    );
  }
  if (available > size) {
    throw new Error(`${name}: corrupt IDX file: ${available - size} unexpected bytes after the data of dims [${dims.join(', ')}]`);
  }
  return { dims, data: bytes.subarray(headerSize) };
}

/**
 * The byte length (header and data) an IDX file declares in its first bytes, or null when they
 * are not (the start of) an IDX header. For capping a decompression before parsing.
 */
export function idxByteLength(head: Uint8Array): number | null {
  if (head.length < 4 || head[0] !== 0 || head[1] !== 0 || head[2] !== 0x08) return null;
  const ndim = head[3];
  const headerSize = 4 + 4 * ndim;
  if (ndim === 0 || head.length < headerSize) return null;
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  let size = 1;
  for (let d = 0; d < ndim; d++) size *= view.getUint32(4 + 4 * d, false);
  return headerSize + size;
}

/** Checks a `limit` option: undefined, or a non-negative integer (a count of samples). */
export function checkLimit(where: string, limit: unknown): void {
  if (limit !== undefined && !(Number.isSafeInteger(limit) && (limit as number) >= 0)) {
    throw new RangeError(`${where}: limit must be a non-negative integer (got ${formatValue(limit)})`);
  }
}

/** Images and labels of one split, ready to train on. */
export interface ImageSet {
  /** n * height * width pixels, row-major, scaled from 0..255 to [0, 1]. */
  images: Float32Array;
  /** n class indices. */
  labels: Uint8Array;
  n: number;
  height: number;
  width: number;
}

export interface ImageSetOptions {
  /** Expected number of samples (60000 / 10000 for MNIST), checked when given. */
  count?: number | undefined;
  /** Expected image size [height, width] (default [28, 28]). */
  size?: [number, number] | undefined;
  /** Number of classes: labels must be in 0..classes-1 (default 10). */
  classes?: number | undefined;
  /** Keep only the first `limit` samples (after every check). */
  limit?: number | undefined;
}

/**
 * Checks a parsed image file (n, H, W) against its label file (n) and converts the pixels to
 * floats in [0, 1]. Errors name the file at fault: wrong dimensions, image/label count
 * mismatch, a count other than expected, labels outside 0..classes-1.
 */
export function toImageSet(
  images: IdxArray, labels: IdxArray, names: { images: string; labels: string }, options: ImageSetOptions = {},
): ImageSet {
  const [height, width] = options.size ?? [28, 28];
  const classes = options.classes ?? 10;
  checkLimit('toImageSet', options.limit);
  checkSize('toImageSet', 'classes', classes);
  if (images.dims.length !== 3 || images.dims[1] !== height || images.dims[2] !== width) {
    throw new Error(`${names.images}: expected images of dims [N, ${height}, ${width}] (got [${images.dims.join(', ')}])`);
  }
  if (labels.dims.length !== 1) {
    throw new Error(`${names.labels}: expected labels of dims [N] (got [${labels.dims.join(', ')}])`);
  }
  const count = images.dims[0];
  if (labels.dims[0] !== count) {
    throw new Error(`image/label count mismatch: ${names.images} has ${count} images, ${names.labels} has ${labels.dims[0]} labels`);
  }
  if (options.count !== undefined && count !== options.count) {
    throw new Error(`${names.images}: expected ${options.count} images (got ${count})`);
  }
  for (let i = 0; i < count; i++) {
    if (labels.data[i] >= classes) {
      throw new Error(`${names.labels}: label ${labels.data[i]} at index ${i} is out of range 0-${classes - 1}`);
    }
  }
  const n = options.limit === undefined ? count : Math.min(count, options.limit);
  const pixels = n * height * width;
  const out = new Float32Array(pixels);
  const src = images.data;
  for (let i = 0; i < pixels; i++) out[i] = src[i] / 255;
  // A copy, and a plain Uint8Array even when the bytes came as a Node Buffer.
  return { images: out, labels: new Uint8Array(labels.data.subarray(0, n)), n, height, width };
}
