// Checkpoints: weights + architecture in one safetensors file (src/io/checkpoint.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BatchNorm1d, BatchNorm2d, Conv2d, Flatten, Linear, MaxPool2d, ReLU, RNG, Sequential, Sigmoid, Tanh, randn } from '../src/index.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ARCHITECTURE_KEY, buildModel, checkpointMetadata, loadCheckpoint, readArchitecture, serializeCheckpoint } from '../src/io/checkpoint.js';
import { serializeSafetensors } from '../src/io/safetensors.js';

function convNet(rng: RNG): Sequential {
  return new Sequential(
    new Conv2d(1, 3, 3, { padding: 1, rng }), new BatchNorm2d(3, { momentum: null }), new ReLU(), new MaxPool2d(2),
    new Flatten(), new Sequential(new Linear(12, 5, { rng, bias: false }), new BatchNorm1d(5, { eps: 1e-3, affine: false }), new Tanh()),
    new Linear(5, 2, { rng }), new Sigmoid(),
  );
}

test('a checkpoint rebuilds the same model: same keys, same weights, same eval outputs', () => {
  const rng = new RNG(7);
  const model = convNet(rng);
  model.forward(randn([4, 1, 4, 4], { rng }));
  const bytes = serializeCheckpoint(model, { step: '12' });
  const { model: back, metadata, architecture } = loadCheckpoint(bytes);
  assert.equal(metadata.step, '12');
  assert.equal(metadata.format, 'pt');
  assert.equal(architecture.version, 1);
  assert.deepEqual(Object.keys(back.stateDict()), Object.keys(model.stateDict()));
  assert.equal(back.training, false);
  model.eval();
  const x = randn([3, 1, 4, 4], { rng });
  assert.deepEqual(Array.from(back.forward(x).data), Array.from(model.forward(x).data));
  assert.equal(back.toString(), model.toString());
  for (const [a, b] of back.modules().map((m, i) => [m.toString(), model.modules()[i].toString()])) assert.equal(a, b);
});

test('a channels-last BatchNorm keeps its layout through a checkpoint; channels-first specs carry no channelsLast key', () => {
  const rng = new RNG(8);
  const model = new Sequential(new BatchNorm2d(3, { channelsLast: true }), new Flatten(), new Linear(12, 2, { rng }), new BatchNorm1d(2));
  model.forward(randn([4, 2, 2, 3], { rng }).mul(2));
  const { model: back, architecture } = loadCheckpoint(serializeCheckpoint(model));
  const layers = (architecture.model as { layers: Record<string, unknown>[] }).layers;
  assert.equal(layers[0].channelsLast, true);
  assert.ok(!('channelsLast' in layers[3]), 'files of channels-first models are as before');
  model.eval();
  const x = randn([2, 2, 2, 3], { rng });
  assert.deepEqual(Array.from(back.forward(x).data), Array.from(model.forward(x).data));
  assert.throws(() => buildModel({ type: 'BatchNorm2d', numFeatures: 3, eps: 1e-5, momentum: 0.1, affine: true, trackRunningStats: true, channelsLast: 'yes' as never }),
    /architecture: model \(BatchNorm2d\) has channelsLast "yes" \(expected true or false\)/);
});

test('checkpoint errors: no architecture, bad JSON, unknown layer, missing field', () => {
  const plain = serializeSafetensors({ w: randn([1], { rng: new RNG(0) }) });
  assert.throws(() => loadCheckpoint(plain), /no "batchnorm\.architecture" in the metadata/);
  assert.throws(() => readArchitecture({ [ARCHITECTURE_KEY]: '{' }), /is not valid JSON/);
  assert.throws(() => readArchitecture({ [ARCHITECTURE_KEY]: '{"version":2}' }), /unsupported architecture version 2/);
  assert.throws(() => buildModel({ type: 'Sequential', layers: [{ type: 'Dropout' }] } as never), /unknown layer type "Dropout" at model\.0/);
  assert.throws(() => buildModel({ type: 'Linear', inFeatures: 3 } as never), /model \(Linear\) is missing "outFeatures"/);
  // Before: "has momentum undefined (expected a number in [0, 1] or null)".
  assert.throws(() => buildModel({ type: 'BatchNorm1d', numFeatures: 3, eps: 1e-5, affine: true, trackRunningStats: true } as never),
    /model \(BatchNorm1d\) is missing "momentum"$/);
});

/** The checkpoint of `model` with its architecture JSON changed by `edit`. */
function withArchitecture(model: Sequential, edit: (spec: { model: { layers: Record<string, unknown>[] } }) => void): Uint8Array {
  const meta = checkpointMetadata(model);
  const spec = JSON.parse(meta[ARCHITECTURE_KEY]);
  edit(spec);
  return serializeSafetensors(model.stateDict(), { ...meta, [ARCHITECTURE_KEY]: JSON.stringify(spec) });
}

test('a checkpoint whose architecture declares bigger layers than its tensors is refused before anything is built', () => {
  // Audit E #1: a 1.2 KB file declaring Linear(20000, 20000) used to allocate 1.7 GB before the
  // shape check; 200000 threw "Invalid typed array length" from inside Linear's constructor.
  const model = new Sequential(new Conv2d(1, 2, 3, { rng: new RNG(1) }), new BatchNorm2d(2), new Flatten(), new Linear(8, 3, { rng: new RNG(2) }), new BatchNorm1d(3));
  const dir = mkdtempSync(join(tmpdir(), 'ckpt-arch-'));
  try {
    const path = join(dir, 'huge.safetensors');
    writeFileSync(path, withArchitecture(model, (a) => Object.assign(a.model.layers[3], { inFeatures: 200000, outFeatures: 200000 })));
    assert.throws(() => loadCheckpoint(path), (err: Error) => {
      assert.equal(err.message, `${path}: the architecture's layer model.3 (Linear) needs "3.weight" of shape [200000, 200000], but the file stores shape [3, 8]; nothing was loaded`);
      return true;
    });
  } finally {
    rmSync(dir, { recursive: true });
  }
  const conv = withArchitecture(model, (a) => Object.assign(a.model.layers[0], { kernelSize: [100000, 100000] }));
  assert.throws(() => loadCheckpoint(conv), /^Error: checkpoint: the architecture's layer model\.0 \(Conv2d\) needs "0\.weight" of shape \[2, 1, 100000, 100000\], but the file stores shape \[2, 1, 3, 3\]/);
  const bn = withArchitecture(model, (a) => Object.assign(a.model.layers[4], { numFeatures: 1e8 }));
  assert.throws(() => loadCheckpoint(bn), /layer model\.4 \(BatchNorm1d\) needs "4\.weight" of shape \[100000000\], but the file stores shape \[3\]/);
  const { '3.bias': _, ...withoutBias } = model.stateDict();
  const missing = serializeSafetensors(withoutBias, checkpointMetadata(model));
  assert.throws(() => loadCheckpoint(missing), /layer model\.3 \(Linear\) needs "3\.bias" of shape \[3\], but the file has no such tensor/);
});

test('buildModel checks its spec: known layers in arrays, booleans that are booleans, positive integer sizes, bounded nesting', () => {
  const bn = { type: 'BatchNorm1d', numFeatures: 3, eps: 1e-5, momentum: 0.1, affine: true, trackRunningStats: true };
  const cases: [unknown, RegExp][] = [
    [{ type: 'Sequential', layers: 5 }, /^TypeError: architecture: model \(Sequential\) has layers 5 \(expected an array of layers\)$/],
    [{ type: 'Sequential', layers: {} }, /model \(Sequential\) has layers \{\} \(expected an array of layers\)/],
    [{ type: 'Sequential', layers: [null] }, /architecture: model\.0 should be a layer such as \{"type":"ReLU"\} \(got null\)/],
    [{ type: 'Linear', inFeatures: 3, outFeatures: 2, bias: 'no' }, /model \(Linear\) has bias "no" \(expected true or false\)/],
    [{ type: 'Linear', inFeatures: 3, outFeatures: 2, bias: 0 }, /model \(Linear\) has bias 0 \(expected true or false\)/],
    [{ type: 'Linear', inFeatures: 2.5, outFeatures: 2, bias: true }, /model \(Linear\) has inFeatures 2\.5 \(expected a positive integer\)/],
    [{ type: 'Linear', inFeatures: '3', outFeatures: 2, bias: true }, /model \(Linear\) has inFeatures "3" \(expected a positive integer\)/],
    [{ ...bn, affine: 'false' }, /model \(BatchNorm1d\) has affine "false" \(expected true or false\)/],
    [{ ...bn, trackRunningStats: 0 }, /has trackRunningStats 0 \(expected true or false\)/],
    [{ ...bn, momentum: '0.1' }, /has momentum "0\.1" \(expected a number in \[0, 1\] or null\)/],
    [{ ...bn, eps: -1 }, /has eps -1 \(expected a positive number\)/],
    [{ type: 'Conv2d', inChannels: 1, outChannels: 2, kernelSize: [3], stride: 1, padding: 0, dilation: 1, bias: true }, /model \(Conv2d\) has kernelSize \[3\] \(expected an integer >= 1 or a pair of them\)/],
    [{ type: 'MaxPool2d', kernelSize: 2, stride: 'x', padding: 0, dilation: 1 }, /model \(MaxPool2d\) has stride "x"/],
    [{ type: 'Flatten', startDim: 'a', endDim: -1 }, /model \(Flatten\) has startDim "a" \(expected an integer\)/],
    [{ type: 'toString' }, /unknown layer type "toString" at model/],
  ];
  for (const [spec, error] of cases) assert.throws(() => buildModel(spec as never), error, JSON.stringify(spec));
  let deep: unknown = { type: 'ReLU' };
  for (let i = 0; i < 5000; i++) deep = { type: 'Sequential', layers: [deep] };
  assert.throws(() => buildModel(deep as never), /\(Sequential\) nests Sequentials more than 64 deep/);
  assert.equal(buildModel({ type: 'Conv2d', inChannels: 1, outChannels: 2, kernelSize: 3, stride: 1, padding: 0, dilation: 1, bias: false } as never).toString(),
    'Conv2d(1, 2, kernelSize=[3,3], stride=[1,1], padding=[0,0], bias=false)');
});
