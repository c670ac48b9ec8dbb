// Checkpoints: weights + architecture in one safetensors file (src/io/checkpoint.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BatchNorm1d, BatchNorm2d, Conv2d, Flatten, Linear, MaxPool2d, ReLU, RNG, Sequential, Sigmoid, Tanh, randn } from '../src/index.js';
import { ARCHITECTURE_KEY, buildModel, loadCheckpoint, readArchitecture, serializeCheckpoint } from '../src/io/checkpoint.js';
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
});
