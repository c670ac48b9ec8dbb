// Keras / TF.js BatchNormalization conventions, checked against TF.js itself (@tensorflow/tfjs, CPU backend).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { Adam, BatchNorm1d, BatchNorm2d, BatchNorm3d, RNG, SGD, Tensor, mseLoss, randn, sum, tensor } from '../src/index.js';
import { kerasBatchNorm, loadKerasBatchNorm, toKerasBatchNorm } from '../src/io/keras.js';

await tf.setBackend('cpu');

/** Both sides compute in float32: |ours - tfjs| <= 1e-5 (1 + |tfjs|). */
function close(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string, tol = 1e-5): void {
  assert.equal(actual.length, expected.length);
  for (let i = 0; i < expected.length; i++) {
    const err = Math.abs(actual[i] - expected[i]) / (1 + Math.abs(expected[i]));
    assert.ok(err <= tol, `${what}[${i}]: ours ${actual[i]} vs TF.js ${expected[i]} (relative error ${err})`);
  }
}

const toTf = (t: Tensor) => tf.tensor(Array.from(t.data), [...t.shape], 'float32');

/** A TF.js layer trained a few steps (moving statistics far from their initial values). */
function trainedKerasLayer(shape: number[], config: { momentum: number; epsilon: number; center?: boolean; scale?: boolean }, rng: RNG) {
  const layer = tf.layers.batchNormalization({ ...config, gammaInitializer: 'randomNormal', betaInitializer: 'randomNormal' });
  for (let step = 0; step < 5; step++) layer.apply(toTf(randn(shape, { rng }).mul(3).add(2)), { training: true });
  return layer;
}

test('kerasBatchNorm: eval and train outputs equal TF.js\'s; momentum 1 - m, eps = epsilon', () => {
  const rng = new RNG(1);
  const config = { momentum: 0.9, epsilon: 1e-3 };
  const layer = trainedKerasLayer([16, 5], config, rng);
  // TF.js tensors as getWeights() gives them, or their dataSync() arrays: the same layer.
  const bn = kerasBatchNorm(layer.getWeights(), config);
  assert.deepEqual(kerasBatchNorm(layer.getWeights().map((w) => w.dataSync()), config).stateDict(), bn.stateDict());
  assert.equal(bn.momentum, 0.1, '1 - 0.9 written as 0.1, not 0.09999999999999998');
  assert.equal(kerasBatchNorm([[1], [0], [0], [1]], { momentum: 0.99 }).momentum, 0.01);
  assert.equal(bn.eps, 1e-3);
  const x = randn([7, 5], { rng }).mul(3).add(2);
  bn.eval();
  close(bn.forward(x).data, (layer.apply(toTf(x), { training: false }) as tf.Tensor).dataSync(), 'eval');
  bn.train();
  const meanBefore = Array.from(bn.runningMean!.data);
  const varBefore = Array.from(bn.runningVar!.data);
  close(bn.forward(x).data, (layer.apply(toTf(x), { training: true }) as tf.Tensor).dataSync(), 'train');
  // After that training step the moving means agree (momentum converted) ...
  const after = layer.getWeights().map((w) => w.dataSync());
  close(bn.runningMean!.data, after[2], 'moving_mean after a step');
  // ... and the variances differ exactly by what cannot convert: PyTorch adds the unbiased batch
  // variance, Keras the biased one: ours - keras = (1 - m) (var_u - var_b) = (1 - m) var_b / (n - 1).
  const n = 7;
  for (let c = 0; c < 5; c++) {
    let mean = 0;
    for (let k = 0; k < n; k++) mean += x.data[k * 5 + c] / n;
    let varB = 0;
    for (let k = 0; k < n; k++) varB += (x.data[k * 5 + c] - mean) ** 2 / n;
    const keras = 0.9 * varBefore[c] + 0.1 * varB;
    close([after[3][c]], [keras], 'TF.js moving_variance is the biased EMA', 1e-5);
    close([bn.runningVar!.data[c]], [keras + (0.1 * varB) / (n - 1)], 'ours adds the unbiased variance', 1e-5);
    assert.ok(Math.abs(bn.runningMean!.data[c] - (0.9 * meanBefore[c] + 0.1 * mean)) < 1e-5, "Math.abs(bn.runningMean!.data[c] - (0.9 * meanBefore[c] + 0.1 * mean)) < 1e-5");
  }
});

test('4-D: a Keras channels-last layer (axis -1, the default) becomes a channelsLast BatchNorm2d that takes (N, H, W, C) as it is', () => {
  const rng = new RNG(2);
  const config = { momentum: 0.99, epsilon: 1e-3 };
  const layer = trainedKerasLayer([4, 3, 3, 6], config, rng);
  const bn = kerasBatchNorm(layer.getWeights().map((w) => w.dataSync() as Float32Array), { ...config, dims: 2 });
  assert.equal(bn.channelsLast, true);
  const xNhwc = randn([2, 3, 3, 6], { rng }).mul(3).add(2);
  close(bn.eval().forward(xNhwc).data, (layer.apply(toTf(xNhwc), { training: false }) as tf.Tensor).dataSync(), 'eval, NHWC');
  close(bn.train().forward(xNhwc).data, (layer.apply(toTf(xNhwc), { training: true }) as tf.Tensor).dataSync(), 'train, NHWC');
  close(bn.runningMean!.data, layer.getWeights()[2].dataSync(), 'moving_mean after a step');
  assert.deepEqual(toKerasBatchNorm(bn).axis, -1);
});

// The reference for axis 1 is TF.js's channels-last layer on the transposed input: TF.js 4.22's
// own layer with axis 1 does not follow the formula in inference on the cpu backend (some values
// get another channel's statistics; checked by hand against (x - mean) / sqrt(var + eps) * gamma + beta).
test('4-D: axis 1 (channels_first models) gives a channels-first BatchNorm2d: Keras\'s function on (N, C, H, W)', () => {
  const rng = new RNG(2);
  const config = { momentum: 0.99, epsilon: 1e-3 };
  const layer = trainedKerasLayer([4, 3, 3, 6], config, rng);
  const bn = kerasBatchNorm(layer.getWeights().map((w) => w.dataSync() as Float32Array), { ...config, dims: 2, axis: 1 }).eval();
  assert.equal(bn.channelsLast, false);
  const xNhwc = randn([2, 3, 3, 6], { rng }).mul(3).add(2);
  const theirs = tf.transpose(layer.apply(toTf(xNhwc), { training: false }) as tf.Tensor, [0, 3, 1, 2]).dataSync();
  const xNchw = new Tensor(tf.transpose(toTf(xNhwc), [0, 3, 1, 2]).dataSync() as Float32Array, [2, 6, 3, 3]);
  close(bn.forward(xNchw).data, theirs, 'NCHW');
  assert.deepEqual(toKerasBatchNorm(bn).axis, 1);
  assert.throws(() => kerasBatchNorm([[1], [0], [0], [1]], { dims: 2, axis: 2 }),
    /for a 2-d layer \(4-D input \(N, H, W, C\)\) the Keras axis must be -1 or 3 \(channels last\) or 1 \(channels first\) \(got 2\); axis 2 is the last axis of a 3-D input \(N, L, C\): a 1-d layer, \{ dims: 1 \}/);
  assert.throws(() => loadKerasBatchNorm(new BatchNorm2d(1, { momentum: 0.01, eps: 1e-3 }), [[1], [0], [0], [1]], { axis: -1 }),
    /Keras axis -1 is channels last, but this BatchNorm2d is channels first; construct it with \{ channelsLast: true \}/);
});

test('center/scale false: the missing gamma/beta are 1/0, as in Keras', () => {
  const rng = new RNG(3);
  for (const [center, scale] of [[false, true], [true, false], [false, false]] as const) {
    const config = { momentum: 0.9, epsilon: 1e-2, center, scale };
    // TF.js cannot train a layer without gamma or beta (its training path reads this.gamma
    // unconditionally: "Cannot read properties of undefined"), so set its statistics directly.
    const layer = tf.layers.batchNormalization(config);
    layer.build([null, 4]);
    const stats = [randn([4], { rng }), randn([4], { rng }), randn([4], { rng }).mul(2), randn([4], { rng }).pow(2).add(0.1)];
    layer.setWeights(stats.slice(2 - Number(center) - Number(scale)).map((t) => tf.tensor1d(Float32Array.from(t.data))));
    const weights = layer.getWeights().map((w) => w.dataSync() as Float32Array);
    assert.equal(weights.length, 2 + Number(center) + Number(scale));
    const bn = kerasBatchNorm(weights, config).eval();
    assert.equal(bn.affine, center || scale);
    const x = randn([3, 4], { rng }).mul(2);
    close(bn.forward(x).data, (layer.apply(toTf(x), { training: false }) as tf.Tensor).dataSync(), `center ${center} scale ${scale}`);
  }
});

test('center/scale false: the missing gamma/beta stay fixed through training (SGD, Adam), and export gives TF.js the same 2 or 3 arrays back', () => {
  const rng = new RNG(5);
  for (const [center, scale] of [[false, true], [true, false], [false, false]] as const) {
    const config = { momentum: 0.9, epsilon: 1e-2, center, scale };
    const what = `center ${center} scale ${scale}`;
    const layer = tf.layers.batchNormalization(config);
    layer.build([null, 4]);
    const stats = [randn([4], { rng }), randn([4], { rng }), randn([4], { rng }).mul(2), randn([4], { rng }).pow(2).add(0.1)];
    layer.setWeights(stats.slice(2 - Number(center) - Number(scale)).map((t) => tf.tensor1d(Float32Array.from(t.data))));
    const bn = kerasBatchNorm(layer.getWeights(), config);
    if (bn.weight) assert.equal(bn.weight.requiresGrad, scale, `${what}: gamma trains only when Keras has it`);
    if (bn.bias) assert.equal(bn.bias.requiresGrad, center, `${what}: beta trains only when Keras has it`);
    // Export before training: bit-identical round trip, and TF.js takes the list for a layer with this config.
    const out = toKerasBatchNorm(bn);
    assert.deepEqual([out.center, out.scale, out.weights.length], [center, scale, 2 + Number(center) + Number(scale)], what);
    assert.deepEqual(kerasBatchNorm(out.weights, config).stateDict(), bn.stateDict(), `${what}: round trip`);
    const back = tf.layers.batchNormalization({ momentum: out.momentum!, epsilon: out.epsilon, center: out.center, scale: out.scale });
    back.build([null, 4]);
    back.setWeights(out.weights.map((w) => tf.tensor1d(w)));
    const x = randn([5, 4], { rng }).mul(2).add(1);
    const theirs = (back.apply(toTf(x), { training: false }) as tf.Tensor).dataSync();
    close(bn.eval().forward(x).data, theirs, `${what}: eval after export`);
    close(theirs, (layer.apply(toTf(x), { training: false }) as tf.Tensor).dataSync(), `${what}: exported layer = original`);
    // A few training steps with either optimizer (weight decay too): the missing ones get no
    // gradient and do not move; the present ones do.
    bn.train();
    const params = bn.parameters();
    assert.equal(params.length, center || scale ? 2 : 0, `${what}: affine only with gamma or beta`);
    for (const opt of params.length === 0 ? [] : [new SGD(params, { lr: 0.5, momentum: 0.9, weightDecay: 0.1 }), new Adam(params, { lr: 0.1, weightDecay: 0.1 })]) {
      for (let step = 0; step < 3; step++) {
        opt.zeroGrad();
        mseLoss(bn.forward(randn([6, 4], { rng }).mul(2)), randn([6, 4], { rng })).backward();
        opt.step();
      }
    }
    if (bn.weight) assert.equal(bn.weight.data.every((v) => v === 1), !scale, `${what}: gamma fixed at 1 iff scale false`);
    if (bn.bias) assert.equal(bn.bias.data.every((v) => v === 0), !center, `${what}: beta fixed at 0 iff center false`);
    const trained = toKerasBatchNorm(bn);
    assert.deepEqual([trained.center, trained.scale], [center, scale], `${what}: still exported as Keras's config after training`);
    // freeze/unfreeze leaves a fixed gamma/beta fixed.
    bn.freeze({ affine: true }).unfreeze();
    if (bn.weight) assert.equal(bn.weight.requiresGrad, scale);
    if (bn.bias) assert.equal(bn.bias.requiresGrad, center);
  }
  // A PyTorch-style layer: trainable gamma/beta are always exported (even at 1 / 0); affine false has neither.
  const fresh = toKerasBatchNorm(new BatchNorm1d(2));
  assert.deepEqual([fresh.center, fresh.scale, fresh.trainable], [true, true, true]);
  const plain = toKerasBatchNorm(new BatchNorm1d(2, { affine: false }));
  assert.deepEqual([plain.center, plain.scale, plain.weights.length], [false, false, 2]);
  assert.deepEqual(toKerasBatchNorm(new BatchNorm1d(2, { affine: false }), { center: true, scale: true }).weights.map((w) => Array.from(w)), [[1, 1], [0, 0], [0, 0], [1, 1]]);
  const scaled = new BatchNorm1d(2);
  scaled.weight!.data.set([1, 2]);
  assert.throws(() => toKerasBatchNorm(scaled, { scale: false }), /toKerasBatchNorm: scale false, but this BatchNorm1d's gamma \(weight\) is not all ones/);
  assert.throws(() => toKerasBatchNorm(scaled, { sacle: false } as never), /toKerasBatchNorm/);
});

test("trainable: false gives a frozen layer, as Keras runs a non-trainable BatchNormalization (inference mode, nothing updated), and goes back out", () => {
  const weights = [[1.5, 0.5], [0.125, -0.25], [0.375, -1], [2, 0.25]];
  const x = tensor([[1, 2], [3, -1], [0.5, 0], [2, 2]], { requiresGrad: true });
  const inference = kerasBatchNorm(weights).eval().forward(x).data;
  for (const load of [
    () => kerasBatchNorm(weights, { trainable: false }),
    () => loadKerasBatchNorm(new BatchNorm1d(2, { momentum: 0.01, eps: 1e-3 }), weights, { trainable: false }),
  ]) {
    const bn = load();
    assert.equal(bn.frozen, true);
    assert.deepEqual([bn.weight!.requiresGrad, bn.bias!.requiresGrad], [false, false]);
    const y = bn.train().forward(x);
    assert.deepEqual(Array.from(y.data), Array.from(inference), 'training mode normalises with the moving statistics');
    sum(y).backward();
    assert.deepEqual([Array.from(bn.runningMean!.data), Array.from(bn.runningVar!.data)], [[0.375, -1], [2, 0.25]]);
    assert.deepEqual([bn.weight!.grad, bn.bias!.grad], [null, null]);
    const out = toKerasBatchNorm(bn);
    assert.deepEqual([out.trainable, out.scale, out.center, out.weights.length], [false, true, true, 4], 'frozen gamma/beta are still exported');
    const { weights: exported, ...config } = out;
    assert.equal(kerasBatchNorm(exported, config).frozen, true, 'round trip');
  }
  // Frozen gamma/beta at 1 / 0 are the Keras layer's own (trainable false), not a scale/center false layer's.
  const ones = toKerasBatchNorm(kerasBatchNorm([[1, 1], [0, 0], [0.375, -1], [2, 0.25]], { trainable: false }));
  assert.deepEqual([ones.scale, ones.center, ones.weights.length], [true, true, 4]);
  // A frozen layer without gamma (scale false) exports without it, as before.
  const noGamma = toKerasBatchNorm(kerasBatchNorm(weights.slice(1), { scale: false, trainable: false }));
  assert.deepEqual([noGamma.scale, noGamma.weights.length, noGamma.trainable], [false, 3, false]);
  assert.equal(kerasBatchNorm(weights, { trainable: true }).frozen, false);
  assert.throws(() => kerasBatchNorm(weights, { trainable: 'no' as never }), /kerasBatchNorm: Keras trainable must be true or false \(got 'no'\)/);
});

test('loadKerasBatchNorm checks the conventions and says how to build the layer', () => {
  const w = [[1, 2], [0, 0], [0.5, -1], [2, 3]];
  assert.throws(() => loadKerasBatchNorm(new BatchNorm1d(2), w, { momentum: 0.99, epsilon: 1e-3 }),
    /Keras momentum 0\.99 and epsilon 0\.001 mean momentum 0\.01 and eps 0\.001 here, but this BatchNorm1d has momentum 0\.1 and eps 0\.00001; construct it as new BatchNorm1d\(2, \{ momentum: 0\.01, eps: 0\.001 \}\)/);
  const bn = loadKerasBatchNorm(new BatchNorm1d(2, { momentum: 0.01, eps: 1e-3 }), w);
  assert.deepEqual(Array.from(bn.runningVar!.data), [2, 3]);
  assert.throws(() => loadKerasBatchNorm(new BatchNorm1d(3, { momentum: 0.01, eps: 1e-3 }), w), /gamma has 2 values, expected 3/);
  assert.throws(() => kerasBatchNorm(w.slice(1)), /expected 4 arrays \[gamma, beta, moving_mean, moving_variance\] \(got 3\)/);
  assert.throws(() => kerasBatchNorm([[1], [0], [0], [-1]]), /moving_variance\[0\] is -1; a variance must be finite and >= 0/);
  // What loadStateDict refuses, refused here too: statistics that make every output NaN.
  assert.throws(() => kerasBatchNorm([[1], [0], [0], [Infinity]]), /moving_variance\[0\] is Infinity/);
  assert.throws(() => kerasBatchNorm([[1, 1], [0, 0], [0, NaN], [1, 1]]), /moving_mean\[1\] is NaN; a mean must be finite/);
  assert.throws(() => kerasBatchNorm([[1], [0], 5, [1]] as never), /weight 2 is number; expected an array of numbers, a typed array or a TF.js tensor/);
  const built = tf.layers.batchNormalization({});
  built.build([null, 2]);
  assert.throws(() => kerasBatchNorm(built.weights as never), /weight 0 is \w+; expected an array of numbers, a typed array or a TF\.js tensor \(a TF\.js layer variable: pass layer\.getWeights\(\), not layer\.weights\)/);
  assert.throws(() => kerasBatchNorm(w, { momentum: 1.5 }), /Keras momentum must be in \[0, 1\]/);
});

test('axis as tf.keras saves it ([3]); a positive last axis implies dims; conflicting axis and dims say what each means', () => {
  const rng = new RNG(6);
  const config = { momentum: 0.99, epsilon: 1e-3 };
  const layer = trainedKerasLayer([4, 3, 3, 6], config, rng);
  const x = randn([2, 3, 3, 6], { rng }).mul(3).add(2);
  const theirs = (layer.apply(toTf(x), { training: false }) as tf.Tensor).dataSync();
  for (const axis of [[3], 3, [-1]]) {
    const bn = kerasBatchNorm(layer.getWeights(), { ...config, axis, ...(axis === 3 || Array.isArray(axis) && axis[0] === 3 ? {} : { dims: 2 }) });
    assert.ok(bn instanceof BatchNorm2d && bn.channelsLast, `axis ${JSON.stringify(axis)}: a channels-last BatchNorm2d`);
    close(bn.eval().forward(x).data, theirs, `axis ${JSON.stringify(axis)}`);
  }
  const w = [[1], [0], [0], [1]];
  assert.ok(kerasBatchNorm(w, { axis: 4 }) instanceof BatchNorm3d, "kerasBatchNorm(w, { axis: 4 }) instanceof BatchNorm3d");
  assert.ok(kerasBatchNorm(w, { axis: [2] }) instanceof BatchNorm1d, "kerasBatchNorm(w, { axis: [2] }) instanceof BatchNorm1d");
  assert.equal(kerasBatchNorm(w, { axis: [1], dims: 2 }).channelsLast, false);
  assert.equal(kerasBatchNorm(w, { axis: -3, dims: 2 }).channelsLast, false, '-3 is dim 1 of a 4-D input');
  assert.throws(() => kerasBatchNorm(w, { axis: 3, dims: 1 }),
    /^RangeError: kerasBatchNorm: for a 1-d layer \(3-D input \(N, L, C\)\) the Keras axis must be -1 or 2 \(channels last\) or 1 \(channels first\) \(got 3\); axis 3 is the last axis of a 4-D input \(N, H, W, C\): a 2-d layer, \{ dims: 2 \}$/);
  assert.throws(() => kerasBatchNorm(w, { axis: 0 }), /the Keras axis must be -1 or 2 \(channels last\) or 1 \(channels first\) \(got 0\)$/);
  assert.throws(() => kerasBatchNorm(w, { axis: [1, 2] }), /kerasBatchNorm: Keras axis must be one int \(-1: channels last, 1: channels first\) or a list of one int \(\[3\]\) \(got \[1,2\]\)/);
  assert.throws(() => kerasBatchNorm(w, { axis: '3' as never }), /Keras axis must be one int .* \(got "3"\)/);
  assert.equal(loadKerasBatchNorm(new BatchNorm2d(1, { momentum: 0.01, eps: 1e-3, channelsLast: true }), w, { axis: [3] }).channelsLast, true);
  assert.throws(() => loadKerasBatchNorm(new BatchNorm2d(1, { momentum: 0.01, eps: 1e-3 }), w, { axis: [3] }), /Keras axis 3 is channels last, but this BatchNorm2d is channels first/);
});

test('gamma and beta must be finite numbers: NaN, Infinity, strings refused, nothing loaded', () => {
  const bn = new BatchNorm1d(2, { momentum: 0.01, eps: 1e-3 });
  bn.weight!.data.set([3, 4]);
  const before = bn.stateDict();
  const good = [[1, 2], [0, 0], [0, 0], [1, 1]];
  for (const [i, bad, message] of [
    [0, [NaN, 1], /gamma\[0\] is NaN; a scale must be a finite number/],
    [0, [1, Infinity], /gamma\[1\] is Infinity; a scale must be a finite number/],
    [1, [0, -Infinity], /beta\[1\] is -Infinity; a shift must be a finite number/],
    [0, ['2', 1], /gamma\[0\] is '2'; a scale must be a finite number/],
    [1, ['x', 0], /beta\[0\] is 'x'; a shift must be a finite number/],
    [1, [[0], 0], /beta\[0\] is Array; a shift must be a finite number/],
    [2, ['0', 0], /moving_mean\[0\] is '0'; a mean must be finite/],
  ] as const) {
    const weights = good.map((a, j) => (j === i ? bad : a)) as never;
    assert.throws(() => kerasBatchNorm(weights), message);
    assert.throws(() => loadKerasBatchNorm(bn, weights), message);
    assert.deepEqual(bn.stateDict(), before, 'nothing loaded');
  }
});

test('a Keras config passes through as it is (TF.js getConfig(), Keras JSON, Keras 3 dtype policy); typos, PyTorch names and settings that do not convert are refused', () => {
  const rng = new RNG(7);
  const layer = trainedKerasLayer([8, 3], { momentum: 0.9, epsilon: 1e-2 }, rng);
  const x = randn([4, 3], { rng });
  const theirs = (layer.apply(toTf(x), { training: false }) as tf.Tensor).dataSync();
  const fromConfig = kerasBatchNorm(layer.getWeights(), layer.getConfig());
  assert.deepEqual([fromConfig.momentum, fromConfig.eps], [0.1, 1e-2]);
  close(fromConfig.eval().forward(x).data, theirs, 'getConfig() passed through');
  // The snake_case config of a saved Keras model (TF.js writes the same keys).
  const json = tf.sequential({ layers: [tf.layers.batchNormalization({ inputShape: [3], momentum: 0.9, epsilon: 1e-2 })] }).toJSON(null, false) as { config: { layers: { config: object }[] } };
  const saved = { ...json.config.layers[0].config, axis: [1], fused: null, synchronized: false, renorm: false, virtual_batch_size: null };
  assert.deepEqual(kerasBatchNorm(layer.getWeights(), saved).stateDict(), fromConfig.stateDict());
  // Keras 3 writes dtype as a policy.
  const keras3 = { name: 'bn', trainable: true, dtype: { module: 'keras', class_name: 'DTypePolicy', config: { name: 'float32' } }, axis: -1, momentum: 0.9, epsilon: 1e-2, center: true, scale: true, synchronized: false };
  assert.deepEqual(kerasBatchNorm(layer.getWeights(), keras3).stateDict(), fromConfig.stateDict());
  const w = layer.getWeights();
  assert.throws(() => kerasBatchNorm(w, { epsilonn: 1e-5 } as never),
    /^TypeError: kerasBatchNorm: unknown config key 'epsilonn'; the keys are 'momentum', 'epsilon', 'center', 'scale', 'axis', 'trainable', 'dims', and the rest of a Keras \/ TF\.js BatchNormalization config/);
  assert.throws(() => kerasBatchNorm(w, { eps: 1e-5 } as never), /unknown config key 'eps' \(PyTorch's name; Keras's is 'epsilon'\)/);
  assert.throws(() => loadKerasBatchNorm(new BatchNorm1d(3), w, { eps: 1e-5 } as never), /loadKerasBatchNorm: unknown config key 'eps'/);
  assert.throws(() => loadKerasBatchNorm(new BatchNorm1d(3), w, { dims: 1 } as never), /loadKerasBatchNorm: unknown config key 'dims'/);
  assert.throws(() => kerasBatchNorm(w, { affine: false } as never), /'affine' \(PyTorch's name; Keras has 'center' \(beta\) and 'scale' \(gamma\)\)/);
  assert.throws(() => kerasBatchNorm(w, { renorm: true } as never), /^RangeError: kerasBatchNorm: Keras renorm true does not convert \(Batch Renormalization trains with corrected statistics and keeps 3 more weights\); only renorm: false does$/);
  assert.throws(() => kerasBatchNorm(w, { virtual_batch_size: 4 } as never), /Keras virtual_batch_size 4 does not convert \(Ghost Batch Normalization normalises sub-batches separately\); only virtual_batch_size: null does/);
  assert.throws(() => kerasBatchNorm(w, { adjustment: () => 0 } as never), /Keras adjustment function does not convert/);
  assert.throws(() => kerasBatchNorm(w, null as never), /kerasBatchNorm: config must be an object such as \{ momentum: 0\.99, epsilon: 1e-3 \} \(got null\)/);
});

test('toKerasBatchNorm exports weights TF.js accepts and that give our outputs', () => {
  const rng = new RNG(4);
  const bn = new BatchNorm1d(3, { momentum: 0.2, eps: 1e-4 });
  for (let i = 0; i < 3; i++) bn.forward(randn([6, 3], { rng }).mul(2).add(1));
  bn.weight!.data.set([0.5, 2, -1]);
  const { weights, momentum, epsilon } = toKerasBatchNorm(bn);
  assert.ok(Math.abs(momentum! - 0.8) < 1e-12, "Math.abs(momentum! - 0.8) < 1e-12");
  const layer = tf.layers.batchNormalization({ momentum: momentum!, epsilon });
  layer.build([null, 3]);
  layer.setWeights(weights.map((w) => tf.tensor1d(w)));
  const x = randn([4, 3], { rng });
  close((layer.apply(toTf(x), { training: false }) as tf.Tensor).dataSync(), bn.eval().forward(x).data, 'exported');
});
