// safetensors: files written by PyTorch's side (scripts/gen_interop_fixtures.py), our round trip,
// and corrupted files, each of which must give a clear error naming what is wrong.
import assert from 'node:assert/strict';
import { chmodSync, lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { BatchNorm1d, Linear, RNG, Sequential, Sigmoid, Tensor, randn, tensor } from '../src/index.js';
import { writeFileAtomic } from '../src/io/atomic.js';
import { loadSafetensors, parseSafetensors, saveSafetensors, serializeSafetensors } from '../src/io/safetensors.js';

const FIX = new URL('./fixtures/interop/', import.meta.url);
const fixtureBytes = (name: string) => new Uint8Array(readFileSync(new URL(name, FIX)));

/** Builds a file from a header object and a data buffer, the way a corrupt writer might. */
function craft(header: unknown, data: Uint8Array, headerLength?: bigint): Uint8Array {
  const h = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, headerLength ?? BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

test('reads every dtype of a file written by PyTorch, with its metadata, from a Node Buffer, a view into a larger buffer, or an ArrayBuffer', () => {
  const expected = JSON.parse(readFileSync(new URL('dtypes.json', FIX), 'utf8'));
  const file = fixtureBytes('dtypes.safetensors');
  const padded = new Uint8Array(file.length + 24).fill(0xff);
  padded.set(file, 16);
  // readFileSync gives a Buffer whose slice() is a view, and small files share Node's pool.
  const forms: [string, Uint8Array | ArrayBuffer][] = [
    ['Buffer', readFileSync(new URL('dtypes.safetensors', FIX))],
    ['view at an offset', padded.subarray(16, 16 + file.length)],
    ['ArrayBuffer', file.slice().buffer],
  ];
  for (const [form, bytes] of forms) checkDtypes(expected, loadSafetensors(bytes), form);
});

function checkDtypes(expected: { metadata: unknown; tensors: Record<string, { dtype: string; shape: number[]; data: number[] }> }, contents: ReturnType<typeof loadSafetensors>, form: string): void {
  const { tensors, metadata } = contents;
  assert.deepEqual(metadata, expected.metadata);
  assert.deepEqual(Object.keys(tensors).sort(), Object.keys(expected.tensors).sort());
  const ourDtype: Record<string, string> = { F64: 'float64', F32: 'float32', F16: 'float32', BF16: 'float32', I64: 'int64', I32: 'int64' };
  for (const [name, e] of Object.entries<{ dtype: string; shape: number[]; data: number[] }>(expected.tensors)) {
    const t = tensors[name];
    assert.deepEqual(t.shape, e.shape, `${form}: ${name}`);
    assert.equal(t.dtype, ourDtype[e.dtype], `${form}: ${name}`);
    // Exact: F16/BF16 widen to float32 without rounding, and the JSON holds the exact values.
    assert.deepEqual(Array.from(t.data), e.data, `${form}: ${name}`);
  }
}

test('round trip keeps names, order, dtypes, shapes and every bit (including int64 num_batches_tracked)', () => {
  const rng = new RNG(1);
  const model = new Sequential(new Linear(5, 4, { rng }), new BatchNorm1d(4), new Sigmoid(), new Linear(4, 3, { rng }));
  model.forward(randn([8, 5], { rng }));
  model.forward(randn([8, 5], { rng }));
  const sd = model.stateDict();
  const wide = { extra64: randn([3, 2], { rng, dtype: 'float64' }), big: tensor([2 ** 53 - 1, -(2 ** 40)], [2], { dtype: 'int64' }) };
  const bytes = serializeSafetensors({ ...sd, ...wide }, { arch: '{"x":1}' });
  assert.equal(new DataView(bytes.buffer).getBigUint64(0, true) % 8n, 0n, 'header padded to 8 bytes');
  const { tensors, metadata } = loadSafetensors(bytes);
  assert.deepEqual(metadata, { arch: '{"x":1}' });
  assert.deepEqual(Object.keys(tensors), [...Object.keys(sd), 'extra64', 'big']);
  for (const [k, t] of Object.entries({ ...sd, ...wide })) {
    assert.equal(tensors[k].dtype, t.dtype, k);
    assert.deepEqual(tensors[k].shape, t.shape, k);
    assert.deepEqual(Array.from(tensors[k].data), Array.from(t.data), k);
    assert.notEqual(tensors[k].data.buffer, t.data.buffer, `${k} is a copy`);
  }
  assert.equal(tensors['1.num_batches_tracked'].dtype, 'int64');
  assert.equal(tensors['1.num_batches_tracked'].item(), 2);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + Number(new DataView(bytes.buffer).getBigUint64(0, true)))));
  assert.equal(header['1.num_batches_tracked'].dtype, 'I64');
  assert.deepEqual(header['1.num_batches_tracked'].shape, []);

  // Load into a fresh model: identical state.
  const fresh = new Sequential(new Linear(5, 4, { rng }), new BatchNorm1d(4), new Sigmoid(), new Linear(4, 3, { rng }));
  fresh.loadStateDict(loadSafetensors(serializeSafetensors(sd)).tensors);
  for (const [k, t] of Object.entries(fresh.stateDict())) assert.deepEqual(Array.from(t.data), Array.from(sd[k].data), k);
});

test('writes byte for byte the file PyTorch\'s side writes (8-byte length, compact JSON, space padding)', () => {
  const theirs = fixtureBytes('plain.safetensors');
  const { tensors, metadata } = loadSafetensors(theirs);
  assert.deepEqual(serializeSafetensors(tensors, metadata), theirs);
});

test('saveSafetensors writes atomically and leaves no temporary file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'st-'));
  try {
    const path = join(dir, 'm.safetensors');
    const sd = { w: randn([3, 3], { rng: new RNG(2) }) };
    saveSafetensors(path, sd, { a: 'b' });
    saveSafetensors(path, sd, { a: 'c' }); // overwrite
    assert.deepEqual(readdirSync(dir), ['m.safetensors']);
    const loaded = loadSafetensors(path);
    assert.deepEqual(loaded.metadata, { a: 'c' });
    assert.deepEqual(Array.from(loaded.tensors.w.data), Array.from(sd.w.data));
    // A failing write (target is a directory) keeps nothing behind.
    assert.throws(() => writeFileAtomic(dir, 'x'), new RegExp(`^Error: cannot write ${dir}: ${dir} is a directory$`));
    assert.deepEqual(readdirSync(dir), ['m.safetensors']);
    assert.throws(() => writeFileAtomic(join(dir, 'no/such/dir/f'), 'x'), new RegExp(`^Error: cannot write ${dir}/no/such/dir/f: the directory ${dir}/no/such/dir does not exist$`));
    assert.throws(() => loadSafetensors(join(dir, 'missing.safetensors')), /cannot read .*missing\.safetensors: no such file/);
    writeFileSync(join(dir, 'bad.safetensors'), new Uint8Array([1, 2, 3]));
    assert.throws(() => loadSafetensors(join(dir, 'bad.safetensors')), /bad\.safetensors.*truncated/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('corrupt and truncated files give clear errors naming the tensor', () => {
  assert.throws(() => loadSafetensors([1, 2, 3] as never), /loadSafetensors: expected a path, a Uint8Array or an ArrayBuffer \(got Array\)/);
  assert.throws(() => parseSafetensors('x' as never), /parseSafetensors: expected a Uint8Array or an ArrayBuffer \(got string\)/);
  const f32 = (n: number) => new Uint8Array(new Float32Array(n).buffer);
  const ok = { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [1], data_offsets: [8, 12] } };
  assert.doesNotThrow(() => parseSafetensors(craft(ok, f32(3))));

  const cases: [string, Uint8Array, RegExp][] = [
    ['empty file', new Uint8Array(0), /truncated: expected at least 8 bytes for the header length \(got 0\)/],
    ['header length beyond file', craft(ok, f32(3), 10_000n), /header length 10000 goes beyond the end of the file/],
    ['bad JSON', craft('{"a": {"dtype": "F32",', f32(0)), /header is not valid UTF-8 JSON/],
    ['header not an object', craft('[1,2]', f32(0)), /header must be a JSON object/],
    ['unknown dtype', craft({ a: { dtype: 'Q4', shape: [2], data_offsets: [0, 8] } }, f32(2)), /tensor "a": unknown dtype "Q4" \(expected one of F16, BF16, F32, F64, I32, I64\)/],
    ['bad shape', craft({ a: { dtype: 'F32', shape: [-2], data_offsets: [0, 8] } }, f32(2)), /tensor "a": shape must be an array of non-negative integers/],
    ['bad offsets', craft({ a: { dtype: 'F32', shape: [2], data_offsets: [8, 0] } }, f32(2)), /tensor "a": data_offsets must be \[begin, end\]/],
    ['size != shape x dtype', craft({ a: { dtype: 'F64', shape: [2], data_offsets: [0, 8] } }, f32(2)), /tensor "a": data_offsets \[0, 8\] hold 8 bytes, but shape \[2\] of F64 needs 16/],
    ['truncated data', craft(ok, f32(2)), /tensor "b": data_offsets \[8, 12\] go beyond the end of the data \(8 bytes\): the file is truncated/],
    ['overlap', craft({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, f32(2)), /tensor "b" starts at byte 4, inside tensor "a" \(ends at 8\): tensors overlap/],
    ['gap', craft({ a: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, f32(2)), /tensor "a" starts at byte 4, but the previous tensor ends at 0: a gap/],
    ['trailing bytes', craft(ok, f32(4)), /the tensors cover 12 bytes of data, but the file has 16 bytes after the header/],
    ['metadata not strings', craft({ __metadata__: { x: 1 } }, f32(0)), /"__metadata__" value for "x" must be a string/],
    ['entry not an object', craft({ a: 3 }, f32(0)), /tensor "a": header entry must be an object/],
  ];
  for (const [what, bytes, re] of cases) assert.throws(() => parseSafetensors(bytes), re, what);

  // Cutting PyTorch's file anywhere yields an error, never a partial result.
  const good = fixtureBytes('dtypes.safetensors');
  for (let cut = 0; cut < good.length; cut += 7) {
    assert.throws(() => parseSafetensors(good.subarray(0, cut)), /safetensors: /, `cut at ${cut}`);
  }
  // Names are data: "__proto__" or "constructor" are keys like others (not the object's prototype), and a
  // dtype named like an Object method is unknown.
  const odd = parseSafetensors(craft('{"__metadata__":{"__proto__":"m"},"__proto__":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"constructor":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', f32(2)));
  assert.deepEqual([Object.keys(odd.tensors), Object.getPrototypeOf(odd.tensors) === Object.prototype, odd.metadata.__proto__], [['__proto__', 'constructor'], true, 'm']);
  assert.throws(() => new BatchNorm1d(2).loadStateDict(odd.tensors), /Missing key\(s\)[^]*Unexpected key\(s\) in state_dict: "__proto__", "constructor"\./);
  assert.throws(() => parseSafetensors(craft({ a: { dtype: 'toString', shape: [1], data_offsets: [0, 4] } }, f32(1))), /tensor "a": unknown dtype "toString"/);
  // int64 beyond 2^53 cannot be held exactly in a Float64Array: an error, not silent rounding.
  const big = new Uint8Array(new BigInt64Array([2n ** 60n]).buffer);
  assert.throws(() => parseSafetensors(craft({ n: { dtype: 'I64', shape: [], data_offsets: [0, 8] } }, big)), /tensor "n": int64 value 1152921504606846976 at index 0 is beyond 2\^53/);
});

test('a corrupt file never half-loads a model; wrong keys and shapes name the key', () => {
  const rng = new RNG(3);
  const model = new Sequential(new Linear(3, 2, { rng }), new BatchNorm1d(2));
  const before = Object.fromEntries(Object.entries(model.stateDict()).map(([k, t]) => [k, Array.from(t.data)]));
  const other = new Sequential(new Linear(3, 4, { rng }), new BatchNorm1d(4));
  assert.throws(() => model.loadStateDict(loadSafetensors(serializeSafetensors(other.stateDict())).tensors), /size mismatch for 0\.weight: copying a param with shape \[4, 3\] from checkpoint, the shape in current model is \[2, 3\]/);
  const sd = { ...model.stateDict() } as Record<string, Tensor>;
  delete sd['1.running_var'];
  assert.throws(() => model.loadStateDict(loadSafetensors(serializeSafetensors({ ...sd, extra: randn([1], { rng }) })).tensors), /Missing key\(s\) in state_dict: "1\.running_var"[^]*Unexpected key\(s\) in state_dict: "extra"/);
  for (const [k, t] of Object.entries(model.stateDict())) assert.deepEqual(Array.from(t.data), before[k], `${k} untouched`);
});

test('serialize refuses what safetensors cannot hold', () => {
  assert.throws(() => serializeSafetensors({ a: randn([1], { rng: new RNG(0) }) }, { n: 1 as unknown as string }), /metadata value for "n" must be a string/);
  assert.throws(() => serializeSafetensors({ __metadata__: randn([1], { rng: new RNG(0) }) }), /cannot be named "__metadata__"/);
  assert.throws(() => serializeSafetensors({ a: [1, 2] as unknown as Tensor }), /value for "a" is not a Tensor/);
  assert.throws(() => serializeSafetensors({ c: tensor([1.5], [1], { dtype: 'int64' }) }), /tensor "c": int64 value 1.5 at index 0 is not an integer/);
});

test('without Node (a browser), paths are refused with the byte-level functions to use instead', () => {
  const proc = process as { getBuiltinModule?: unknown };
  const saved = proc.getBuiltinModule;
  proc.getBuiltinModule = undefined;
  try {
    assert.throws(() => saveSafetensors('w.safetensors', { a: tensor([1]) }), /^Error: writing a file by path needs Node\.js >= 20\.16 \(file access\); in a browser, work with bytes: parseSafetensors, loadSafetensors\(bytes\) or loadCheckpoint\(bytes\) to read, serializeSafetensors, serializeCheckpoint or exportOnnx to write$/);
    assert.throws(() => loadSafetensors('w.safetensors'), /^Error: reading a file by path needs Node\.js/);
  } finally {
    proc.getBuiltinModule = saved;
  }
});

test('a key given twice in the header is an error, as in the reference reader (JSON.parse would keep the last copy)', () => {
  // Audit E #8: a second __metadata__ changed a BatchNorm's eps; a second entry re-read the bytes as I32.
  const data = new Uint8Array(8);
  const w = '{"dtype":"F32","shape":[2],"data_offsets":[0,8]}';
  const cases: [string, string][] = [
    [`{"w":${w},"w":{"dtype":"I32","shape":[2],"data_offsets":[0,8]}}`, 'w'],
    [`{"__metadata__":{"eps":"1e-5"},"w":${w}, "__metadata__" :{"eps":"0.5"}}`, '__metadata__'],
    [`{"w":${w},"\\u0077":${w}}`, 'w'], // the same key, escaped
    [`{"a\\"b":${w},"a\\"b":${w}}`, 'a"b'],
  ];
  for (const [header, key] of cases) {
    assert.throws(() => parseSafetensors(craft(header, data), 'dup.safetensors'),
      new RegExp(`^SafetensorsError: safetensors \\(dup\\.safetensors\\): header has the key ${JSON.stringify(key).replace(/[\\"]/g, (c) => `\\${c}`)} more than once$`), header);
  }
  // The same name at another depth is not a duplicate: a metadata entry "w", a "dtype" key in each entry.
  const ok = parseSafetensors(craft(`{"__metadata__":{"w":"note","dtype":"x"},"w":${w},"v":{"dtype":"F32","shape":[0],"data_offsets":[8,8]}}`, data));
  assert.deepEqual(Object.keys(ok.tensors).sort(), ['v', 'w']);
  assert.equal(ok.metadata.w, 'note');
});

test('writeFileAtomic: any legal name, the old mode kept, symbolic links followed, errors naming the file asked for', () => {
  const dir = mkdtempSync(join(tmpdir(), 'atomic-'));
  try {
    // A 243-character name is legal; the temporary name used to add ~25 characters (ENAMETOOLONG).
    const long = join(dir, `${'a'.repeat(240)}.st`);
    writeFileAtomic(long, 'x');
    assert.equal(readFileSync(long, 'utf8'), 'x');
    // Overwriting keeps the file's permissions: a private 0600 file stayed 0600 only by luck of the umask before.
    const secret = join(dir, 'secret.safetensors');
    writeFileSync(secret, 'old', { mode: 0o600 });
    chmodSync(secret, 0o600);
    writeFileAtomic(secret, 'new');
    assert.equal(statSync(secret).mode & 0o777, 0o600);
    assert.equal(readFileSync(secret, 'utf8'), 'new');
    // A link is followed (as editors do): the file it points to changes, the link stays a link.
    writeFileSync(join(dir, 'real.safetensors'), 'old');
    symlinkSync('real.safetensors', join(dir, 'link.safetensors'));
    writeFileAtomic(join(dir, 'link.safetensors'), 'new');
    assert.ok(lstatSync(join(dir, 'link.safetensors')).isSymbolicLink(), "lstatSync(join(dir, 'link.safetensors')).isSymbolicLink()");
    assert.equal(readFileSync(join(dir, 'real.safetensors'), 'utf8'), 'new');
    // Errors name the file asked for, never the hidden temporary one.
    writeFileSync(join(dir, 'afile'), 'x');
    assert.throws(() => writeFileAtomic(join(dir, 'afile', 'x.st'), 'x'), new RegExp(`^Error: cannot write ${dir}/afile/x\\.st: ENOTDIR: not a directory$`));
    assert.throws(() => writeFileAtomic(`${dir}/`, 'x'), /^Error: cannot write '.*\/': not a file name$/);
    assert.throws(() => writeFileAtomic('', 'x'), /^Error: cannot write '': not a file name$/);
    assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith('.tmp')), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
