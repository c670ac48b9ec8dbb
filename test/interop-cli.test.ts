// `batchnorm export` and `batchnorm inspect` on committed fixtures (PyTorch-written and ours).
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { decodeOnnx } from '../src/io/onnx.js';
import { onnxTypes } from '../src/io/onnxProto.js';
import { inspectWeights } from '../src/io/inspect.js';
import { ARCHITECTURE_KEY } from '../src/io/checkpoint.js';
import { serializeSafetensors } from '../src/io/safetensors.js';
import { loadCheckpoint, saveCheckpoint, tensor } from '../src/index.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const cli = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'cli/main.ts', ...args], { cwd: root, encoding: 'utf8' });

test('export writes an ONNX file ONNX Runtime agrees with; --fold removes BatchNormalization', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cli-'));
  try {
    for (const fold of [false, true]) {
      const out = join(dir, `m${fold}.onnx`);
      const r = cli('export', '--checkpoint', 'test/fixtures/interop/pt_mlp.safetensors', '--onnx', out, ...(fold ? ['--fold'] : []));
      assert.equal(r.status, 0, r.stderr);
      const diff = Number(r.stdout.match(/largest \|difference\| from this library on a random batch = (\S+)/)?.[1]);
      assert.ok(diff < 1e-5, r.stdout);
      const ops = (decodeOnnx(new Uint8Array(readFileSync(out))).graph as { node: { op_type: string }[] }).node.map((n) => n.op_type);
      assert.deepEqual(ops, fold ? ['Gemm', 'Relu', 'Gemm', 'Tanh', 'Gemm'] : ['Gemm', 'BatchNormalization', 'Relu', 'Gemm', 'BatchNormalization', 'Tanh', 'Gemm']);
    }
    // A conv checkpoint needs the input's spatial size.
    const conv = cli('export', '--checkpoint', 'test/fixtures/interop/ts_conv.safetensors', '--onnx', join(dir, 'c.onnx'));
    assert.equal(conv.status, 1);
    assert.match(conv.stderr, /does not start with a Linear layer, so its input shape is unknown; pass --input-shape/);
    const ok = cli('export', '--checkpoint', 'test/fixtures/interop/ts_conv.safetensors', '--onnx', join(dir, 'c.onnx'), '--input-shape', '1,2,6,6');
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /Conv -> BatchNormalization -> Relu -> MaxPool -> Flatten -> Gemm -> BatchNormalization -> Sigmoid -> Gemm/);
    // A float64 checkpoint exports as float32 (the exporter's graphs are float32), and says so.
    saveCheckpoint(join(dir, 'f64.safetensors'), loadCheckpoint('test/fixtures/interop/pt_mlp.safetensors').model.double());
    const f64 = cli('export', '--checkpoint', join(dir, 'f64.safetensors'), '--onnx', join(dir, 'f64.onnx'));
    assert.equal(f64.status, 0, f64.stderr);
    assert.match(f64.stdout, /f64\.safetensors holds float64 weights; ONNX graphs from this exporter are float32, so they are rounded to float32/);
    assert.ok(Number(f64.stdout.match(/largest \|difference\| from this library on a random batch = (\S+)/)?.[1]) < 1e-5, f64.stdout);
    // A plain state dict (no architecture) cannot be exported, and says why.
    writeFileSync(join(dir, 'plain.safetensors'), serializeSafetensors({ w: tensor([1, 2]) }));
    const plain = cli('export', '--checkpoint', join(dir, 'plain.safetensors'), '--onnx', join(dir, 'p.onnx'));
    assert.match(plain.stderr, /no "batchnorm\.architecture" in the metadata/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('inspect lists tensors and names the BatchNorm conventions (PyTorch and Keras names)', () => {
  const out = execFileSync(process.execPath, ['--import', 'tsx', 'cli/main.ts', 'inspect', 'test/fixtures/interop/pt_conv.safetensors'], { cwd: root, encoding: 'utf8' });
  assert.match(out, /1\.num_batches_tracked\s+int64\s+\[\]\s+3\s+3/);
  assert.match(out, /0\.weight\s+float32\s+\[4, 2, 3, 3\]/);
  assert.match(out, /BatchNorm "1": 4 channels, momentum null \(cumulative average\), eps 0\.00001, num_batches_tracked 3/);
  assert.match(out, /PyTorch convention: running_var is the moving average of the UNBIASED batch variance/);
  const dir = mkdtempSync(join(tmpdir(), 'cli-'));
  try {
    const keras = join(dir, 'keras.safetensors');
    writeFileSync(keras, serializeSafetensors({
      'bn/gamma': tensor([1, 1]), 'bn/beta': tensor([0, 0]), 'bn/moving_mean': tensor([0, 0]), 'bn/moving_variance': tensor([-1, 2]),
    }));
    const r = cli('inspect', keras);
    assert.match(r.stdout, /BatchNorm "bn": 2 channels/);
    assert.match(r.stdout, /Keras\/TF\.js convention: moving_variance is the moving average of the BIASED batch variance in TF\.js, Keras 3 and tf\.keras 2 on 2-D\/3-D inputs, of the UNBIASED one in tf\.keras 2 on 4-D\/5-D inputs \(fused path\)/);
    assert.match(r.stdout, /INVALID: running variance has negative values \(min -1\)/);
    writeFileSync(join(dir, 'bad.safetensors'), new Uint8Array(5));
    const bad = cli('inspect', join(dir, 'bad.safetensors'));
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /safetensors \(.*bad\.safetensors\): file is truncated/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('decodeOnnx: bytes that are not an ONNX model are an error naming the source and what was expected', () => {
  const { ModelProto } = onnxTypes();
  const encode = (o: object) => ModelProto.encode(ModelProto.fromObject(o)).finish();
  const cases: [Uint8Array, RegExp][] = [
    [new Uint8Array(0), /^Error: m\.onnx: not a valid ONNX model \(no ir_version\)$/],
    [new Uint8Array([0x08]), /^Error: m\.onnx: not a valid ONNX model \(expected a protobuf ModelProto; decoding failed: index out of range: 1 \+ 1 > 1\)$/],
    [new TextEncoder().encode('hello world, not onnx\n'), /m\.onnx: not a valid ONNX model \(expected a protobuf ModelProto; decoding failed: /],
    [encode({ ir_version: 8 }), /m\.onnx: not a valid ONNX model \(no graph\)/],
    // Before: `inspect` crashed with "Cannot read properties of undefined (reading 'padEnd')".
    [encode({ ir_version: 8, graph: { initializer: [{ name: 'w', dims: [1] }, { dims: [2] }], node: [{ op_type: 'Relu' }] } }), /m\.onnx: not a valid ONNX model \(initializer 1 has no name\)/],
    [encode({ ir_version: 8, graph: { node: [{ name: 'x' }] } }), /m\.onnx: not a valid ONNX model \(node 0 has no op_type\)/],
  ];
  for (const [bytes, error] of cases) assert.throws(() => decodeOnnx(bytes, 'm.onnx'), error);
});

test('inspectWeights counts NaN and infinities instead of hiding them in min/max, and refuses a malformed architecture', () => {
  const r = inspectWeights({
    'w': tensor([NaN, 2, -Infinity, 1]), '1.running_mean': tensor([0, 0, 0]), '1.running_var': tensor([NaN, 1, 1]), 'e.running_mean': tensor([]), 'e.running_var': tensor([]),
  });
  assert.deepEqual(r.tensors[0], { name: 'w', dtype: 'float32', shape: [4], size: 4, min: 1, max: 2, mean: 1.5, nan: 1, inf: 1 });
  const [bn, empty] = r.batchNorms;
  assert.deepEqual(bn.runningVar, { min: 1, max: 1, nonFinite: 1 });
  assert.ok(bn.notes.some((n) => /^INVALID: running variance has 1 NaN value\(s\)/.test(n)), bn.notes.join('\n'));
  assert.deepEqual(empty.runningVar, { min: NaN, max: NaN, nonFinite: 0 }); // was [Infinity, -Infinity]
  // Before: "spec.layers.forEach is not a function".
  const cases: [object, RegExp][] = [
    [{ type: 'Sequential', layers: 3 }, /^TypeError: x\.safetensors: architecture: model \(Sequential\) has layers 3 \(expected an array of layers\)$/],
    [{ type: 'Sequential' }, /^TypeError: x\.safetensors: architecture: model \(Sequential\) is missing "layers"$/],
  ];
  for (const [model, message] of cases) {
    assert.throws(() => inspectWeights({}, { [ARCHITECTURE_KEY]: JSON.stringify({ version: 1, model }) }, 'x.safetensors'), message);
  }
});

test('inspect on the command line marks tensors holding NaN; an ONNX initializer without a name is an error, not a crash', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cli-'));
  try {
    const path = join(dir, 'nan.safetensors');
    writeFileSync(path, serializeSafetensors({ '1.running_mean': tensor([0, 0, 0]), '1.running_var': tensor([NaN, 1, 1]) }));
    const r = cli('inspect', path);
    assert.match(r.stdout, /1\.running_var\s+float32\s+\[3\]\s+1\.0000\s+1\.0000\s+1\.0000  \(1 NaN; not loadable\)/);
    assert.match(r.stdout, /BatchNorm "1": 3 channels, running variance in \[1\.000, 1\.000\] and 1 non-finite/);
    const onnx = join(dir, 'm.onnx');
    const { ModelProto } = onnxTypes();
    writeFileSync(onnx, ModelProto.encode(ModelProto.fromObject({ ir_version: 8, graph: { initializer: [{ dims: [2] }] } })).finish());
    const o = cli('inspect', onnx);
    assert.equal(o.status, 1);
    assert.equal(o.stderr.trim(), `batchnorm: ${onnx}: not a valid ONNX model (initializer 0 has no name)`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
