// Node side of the IDX reader: files on disk, gunzipped when they start with gzip's magic bytes.
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { parseIdx, type IdxArray } from './idx.js';

/** Reads bytes from a file, gunzipping them if they start with 1f 8b (whatever the name says). */
export function readMaybeGzip(path: string): Uint8Array {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new Error(err.code === 'ENOENT' ? `${path}: no such file` : `${path}: cannot read (${err.message})`);
  }
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      return gunzipSync(bytes);
    } catch (e) {
      throw new Error(`${path}: corrupt or truncated gzip data (${(e as Error).message})`);
    }
  }
  return bytes;
}

/** Reads and parses an IDX file, plain or gzipped. Errors name the file. */
export function readIdxFile(path: string): IdxArray {
  return parseIdx(readMaybeGzip(path), path);
}
