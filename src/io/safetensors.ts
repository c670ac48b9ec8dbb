/**
 * safetensors, the weight format of PyTorch's ecosystem (https://github.com/huggingface/safetensors):
 *
 *   [8 bytes: header length N, unsigned little-endian]
 *   [N bytes: JSON header, padded with spaces to a multiple of 8]
 *   [data: every tensor's bytes, little-endian, row-major]
 *
 * The header maps each tensor name to `{ "dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end] }`
 * (offsets relative to the start of the data) and may hold `"__metadata__": { string: string }`.
 * The tensors' byte ranges must tile the data exactly: no gaps, no overlap, nothing after.
 *
 * Dtypes: F32, F64 and I64 are read and written (`num_batches_tracked` is I64, as PyTorch saves
 * it; this library's int64 tensors live in a Float64Array, exact up to 2^53). F16 and BF16 are
 * read into float32, I32 into int64.
 *
 * `serializeSafetensors` and `parseSafetensors` work on bytes and run in a browser; the
 * path-taking forms read and write files through src/io/atomic.ts (Node).
 */
import { describeValue } from '../describe.js';
import type { StateDict } from '../nn/module.js';
import { formatShape, sizeOf } from '../tensor/shape.js';
import { Tensor, type DType } from '../tensor/tensor.js';
import { readFileBytes, writeFileAtomic } from './atomic.js';

/** A loaded safetensors file: the tensors by name (in file order) and the free-form metadata. */
export interface SafetensorsContents {
  tensors: StateDict;
  metadata: Record<string, string>;
}

/** Header entry of one tensor, as in the file. */
export interface SafetensorsEntry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

const BYTES: Record<string, number> = { F16: 2, BF16: 2, F32: 4, F64: 8, I32: 4, I64: 8 };
const WRITE_DTYPE: Record<DType, string> = { float32: 'F32', float64: 'F64', int64: 'I64' };
/** The Rust reference implementation refuses headers above 100 MB; so do we. */
const MAX_HEADER = 100_000_000;
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

class SafetensorsError extends Error {
  override name = 'SafetensorsError';
}

function fail(source: string, message: string): never {
  throw new SafetensorsError(`safetensors${source ? ` (${source})` : ''}: ${message}`);
}

/**
 * Encodes a state dict (and optional string metadata) as safetensors bytes. Tensors are written
 * in the order given; float32 as F32, float64 as F64, int64 as I64.
 * @example const bytes = serializeSafetensors(model.stateDict(), { format: 'pt' });
 */
export function serializeSafetensors(stateDict: StateDict, metadata?: Record<string, string>): Uint8Array {
  if (!LITTLE_ENDIAN) fail('', 'big-endian hosts are not supported');
  const header: Record<string, unknown> = {};
  if (metadata !== undefined) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') fail('', `metadata value for "${k}" must be a string (got ${typeof v})`);
    }
    header.__metadata__ = metadata;
  }
  const parts: Uint8Array[] = [];
  let offset = 0;
  for (const [name, t] of Object.entries(stateDict)) {
    if (name === '__metadata__') fail('', 'a tensor cannot be named "__metadata__"');
    if (!(t instanceof Tensor)) fail('', `value for "${name}" is not a Tensor`);
    const dtype = WRITE_DTYPE[t.dtype];
    let bytes: Uint8Array;
    if (t.dtype === 'int64') {
      const out = new BigInt64Array(t.size);
      for (let i = 0; i < t.size; i++) {
        const v = t.data[i];
        if (!Number.isSafeInteger(v)) fail('', `tensor "${name}": int64 value ${v} at index ${i} is not an integer`);
        out[i] = BigInt(v);
      }
      bytes = new Uint8Array(out.buffer);
    } else {
      bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    }
    header[name] = { dtype, shape: [...t.shape], data_offsets: [offset, offset + bytes.length] };
    parts.push(bytes);
    offset += bytes.length;
  }
  let json = JSON.stringify(header);
  // Pad with spaces so the data starts 8-byte aligned, as the reference implementation does.
  let headerBytes = new TextEncoder().encode(json);
  const pad = (8 - (headerBytes.length % 8)) % 8;
  if (pad) headerBytes = new TextEncoder().encode(json + ' '.repeat(pad));
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let pos = 8 + headerBytes.length;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.length;
  }
  return out;
}

/**
 * The first key that appears twice in a JSON object's top level, or null. `text` must be valid
 * JSON (it has been parsed): strings are skipped whole, and a string at depth 1 followed by ':'
 * is a key, compared after unescaping ("a" and "\u0061" are the same key).
 */
function duplicateTopLevelKey(text: string): string | null {
  const seen = new Set<string>();
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let end = i + 1;
      while (text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
      if (depth === 1) {
        let next = end + 1;
        while (text[next] === ' ' || text[next] === '\t' || text[next] === '\n' || text[next] === '\r') next++;
        if (text[next] === ':') {
          const key = JSON.parse(text.slice(i, end + 1)) as string;
          if (seen.has(key)) return key;
          seen.add(key);
        }
      }
      i = end;
    } else if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') depth--;
  }
  return null;
}

/**
 * Decodes safetensors bytes, checking everything first: a truncated file, a header length
 * beyond the file, bad JSON, an unknown dtype, offsets out of range, overlapping or not tiling
 * the data, a byte count that disagrees with shape x dtype, and a key given twice each throw an
 * error naming the tensor. `source` (e.g. the file name) is included in error messages.
 */
export function parseSafetensors(data: Uint8Array | ArrayBuffer, source = ''): SafetensorsContents {
  const bytes = asBytes('parseSafetensors', data);
  if (!LITTLE_ENDIAN) fail(source, 'big-endian hosts are not supported');
  if (bytes.length < 8) fail(source, `file is truncated: expected at least 8 bytes for the header length (got ${bytes.length})`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n64 = view.getBigUint64(0, true);
  if (n64 > BigInt(bytes.length - 8)) {
    fail(source, `header length ${n64} goes beyond the end of the file (${bytes.length - 8} bytes after the 8-byte length): truncated or not a safetensors file`);
  }
  const n = Number(n64);
  if (n > MAX_HEADER) fail(source, `header length ${n} exceeds the limit of ${MAX_HEADER} bytes`);
  let header: unknown;
  let text = '';
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n));
    header = JSON.parse(text);
  } catch (err) {
    fail(source, `header is not valid UTF-8 JSON (${(err as Error).message})`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) {
    fail(source, 'header must be a JSON object mapping tensor names to {dtype, shape, data_offsets}');
  }
  const duplicate = duplicateTopLevelKey(text);
  if (duplicate !== null) {
    // JSON.parse keeps the last copy; the reference reader refuses the file, so readers would disagree.
    fail(source, `header has the key ${JSON.stringify(duplicate)} more than once`);
  }
  const dataStart = 8 + n;
  const dataLength = bytes.length - dataStart;

  // Names come from the file: collected as pairs and made own properties by Object.fromEntries,
  // so a tensor named "__proto__" is a key like any other, not the object's prototype.
  const metadataPairs: [string, string][] = [];
  const entries: [string, SafetensorsEntry][] = [];
  for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) fail(source, '"__metadata__" must be an object of strings');
      for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
        if (typeof v !== 'string') fail(source, `"__metadata__" value for "${k}" must be a string (got ${JSON.stringify(v)})`);
        metadataPairs.push([k, v]);
      }
      continue;
    }
    const where = `tensor "${name}"`;
    if (raw === null || typeof raw !== 'object') fail(source, `${where}: header entry must be an object (got ${JSON.stringify(raw)})`);
    const { dtype, shape, data_offsets: offsets } = raw as Record<string, unknown>;
    if (typeof dtype !== 'string' || !Object.hasOwn(BYTES, dtype)) {
      fail(source, `${where}: unknown dtype ${JSON.stringify(dtype)} (expected one of ${Object.keys(BYTES).join(', ')})`);
    }
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      fail(source, `${where}: shape must be an array of non-negative integers (got ${JSON.stringify(shape)})`);
    }
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0) || offsets[0] > offsets[1]) {
      fail(source, `${where}: data_offsets must be [begin, end] with 0 <= begin <= end (got ${JSON.stringify(offsets)})`);
    }
    const [begin, end] = offsets as [number, number];
    if (end > dataLength) {
      fail(source, `${where}: data_offsets [${begin}, ${end}] go beyond the end of the data (${dataLength} bytes): the file is truncated`);
    }
    const expected = sizeOf(shape as number[]) * BYTES[dtype];
    if (end - begin !== expected) {
      fail(source, `${where}: data_offsets [${begin}, ${end}] hold ${end - begin} bytes, but shape ${formatShape(shape as number[])} of ${dtype} needs ${expected}`);
    }
    entries.push([name, { dtype, shape: shape as number[], data_offsets: [begin, end] }]);
  }

  // The byte ranges must tile [0, dataLength) exactly, as the reference implementation requires.
  const byOffset = [...entries].sort((a, b) => a[1].data_offsets[0] - b[1].data_offsets[0] || a[1].data_offsets[1] - b[1].data_offsets[1]);
  let cursor = 0;
  let previous = '';
  for (const [name, e] of byOffset) {
    const [begin] = e.data_offsets;
    if (begin < cursor) fail(source, `tensor "${name}" starts at byte ${begin}, inside tensor "${previous}" (ends at ${cursor}): tensors overlap`);
    if (begin > cursor) fail(source, `tensor "${name}" starts at byte ${begin}, but the previous tensor${previous ? ` "${previous}"` : ''} ends at ${cursor}: a gap in the data`);
    cursor = e.data_offsets[1];
    previous = name;
  }
  if (cursor !== dataLength) {
    fail(source, `the tensors cover ${cursor} bytes of data, but the file has ${dataLength} bytes after the header (trailing bytes or a header that lies about sizes)`);
  }

  const tensors: StateDict = Object.fromEntries(
    entries.map(([name, e]) => {
      const [begin, end] = e.data_offsets;
      // Copy into a fresh, aligned buffer: the tensor must not alias the file's bytes. (Not
      // `bytes.slice`: on a Node Buffer, slice is a view of the whole file's, or the pool's, memory.)
      const buf = new Uint8Array(bytes.subarray(dataStart + begin, dataStart + end)).buffer;
      return [name, decode(name, e.dtype, buf, e.shape, source)];
    }),
  );
  return { tensors, metadata: Object.fromEntries(metadataPairs) };
}

function decode(name: string, dtype: string, buf: ArrayBuffer, shape: number[], source: string): Tensor {
  switch (dtype) {
    case 'F32':
      return new Tensor(new Float32Array(buf), shape, 'float32');
    case 'F64':
      return new Tensor(new Float64Array(buf), shape, 'float64');
    case 'I32':
      return new Tensor(Float64Array.from(new Int32Array(buf)), shape, 'int64');
    case 'I64': {
      const src = new BigInt64Array(buf);
      const out = new Float64Array(src.length);
      for (let i = 0; i < src.length; i++) {
        const v = Number(src[i]);
        if (!Number.isSafeInteger(v)) fail(source, `tensor "${name}": int64 value ${src[i]} at index ${i} is beyond 2^53 and cannot be held exactly`);
        out[i] = v;
      }
      return new Tensor(out, shape, 'int64');
    }
    case 'BF16': {
      // bfloat16 is the top half of a float32.
      const src = new Uint16Array(buf);
      const bits = new Uint32Array(src.length);
      for (let i = 0; i < src.length; i++) bits[i] = src[i] << 16;
      return new Tensor(new Float32Array(bits.buffer), shape, 'float32');
    }
    case 'F16': {
      const src = new Uint16Array(buf);
      const out = new Float32Array(src.length);
      for (let i = 0; i < src.length; i++) out[i] = halfToFloat(src[i]);
      return new Tensor(out, shape, 'float32');
    }
    default:
      return fail(source, `tensor "${name}": unknown dtype "${dtype}"`);
  }
}

/** IEEE 754 binary16 -> number (exact). */
function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/**
 * Loads a safetensors file (a path, in Node) or its bytes (anywhere), validated in full
 * before anything is returned. Load the result into a model with `model.loadStateDict(tensors)`,
 * which checks keys (`strict`) and shapes before copying anything.
 * @example
 * const { tensors, metadata } = loadSafetensors('model.safetensors');
 * model.loadStateDict(tensors);
 */
export function loadSafetensors(pathOrBytes: string | Uint8Array | ArrayBuffer): SafetensorsContents {
  if (typeof pathOrBytes === 'string') return parseSafetensors(readFileBytes(pathOrBytes), pathOrBytes);
  return parseSafetensors(asBytes('loadSafetensors', pathOrBytes, 'a path, '));
}

/**
 * A file's bytes as a Uint8Array: a Uint8Array (a Node Buffer is one) as it is, an ArrayBuffer
 * (what `await response.arrayBuffer()` gives in a browser) wrapped; anything else is an error.
 */
function asBytes(fn: string, data: unknown, alternatives = ''): Uint8Array {
  if (data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  throw new TypeError(`${fn}: expected ${alternatives}a Uint8Array or an ArrayBuffer (got ${describeValue(data)})`);
}

/**
 * Saves a state dict (PyTorch key names, e.g. `model.stateDict()`) as a safetensors file,
 * atomically: a crash mid-write leaves the previous file intact. Node only.
 * @example saveSafetensors('model.safetensors', model.stateDict(), { format: 'pt' });
 */
export function saveSafetensors(path: string, stateDict: StateDict, metadata?: Record<string, string>): void {
  writeFileAtomic(path, serializeSafetensors(stateDict, metadata));
}
