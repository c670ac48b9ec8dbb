// The README's "Porting a Keras model" recipe, step by step, on a TF.js model (@tensorflow/tfjs
// 4.22, cpu backend): Conv2D 'valid' -> BatchNormalization -> ReLU -> Flatten -> Dense, both ways.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import {
  Conv2d, Flatten, Linear, RNG, ReLU, Sequential, kerasBatchNorm, randn, tensor, toKerasBatchNorm, type BatchNorm, type Tensor,
} from '../src/index.js';
import { assertClose, FLOAT32 } from './helpers.js';

await tf.setBackend('cpu');

const [N, H, W, C, F, K, UNITS] = [3, 7, 6, 3, 4, 3, 5];
const [H2, W2] = [H - K + 1, W - K + 1]; // 'valid' padding

/** A TF.js model with non-trivial weights everywhere, moving statistics included. */
function kerasModel(): tf.Sequential {
  const model = tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [H, W, C], filters: F, kernelSize: K, padding: 'valid', biasInitializer: 'randomNormal' }),
      tf.layers.batchNormalization({ gammaInitializer: 'randomNormal', betaInitializer: 'randomNormal' }),
      tf.layers.reLU(),
      tf.layers.flatten(),
      tf.layers.dense({ units: UNITS, biasInitializer: 'randomNormal' }),
    ],
  });
  const bn = model.layers[1];
  const [gamma, beta] = bn.getWeights();
  bn.setWeights([gamma, beta, tf.randomNormal([F]), tf.randomUniform([F], 0.5, 2)]);
  return model;
}

test('README recipe: a Keras Conv2D-BN-ReLU-Flatten-Dense model ported here gives its outputs, and ported back gives its weights bit for bit', () => {
  const keras = kerasModel();
  const xNhwc = tf.randomNormal([N, H, W, C]);
  const theirs = (keras.predict(xNhwc) as tf.Tensor).dataSync();

  // --- the recipe ---
  const t = (w: tf.Tensor): Tensor => tensor(w.dataSync(), w.shape); // a TF.js tensor as a Tensor
  const [conv2D, bnLayer, , , dense] = keras.layers;                  // each layer's own getWeights()
  const [kernel, convBias] = conv2D.getWeights();
  const [denseKernel, denseBias] = dense.getWeights();
  const model = new Sequential(
    new Conv2d(C, F, K),                                                // 'valid'; channels first
    kerasBatchNorm(bnLayer.getWeights(), { ...bnLayer.getConfig(), axis: 1, dims: 2 }), // after a channels-first Conv2d
    new ReLU(),
    new Flatten(),
    new Linear(H2 * W2 * F, UNITS),
  );
  model.loadStateDict({
    '0.weight': t(kernel).permute(3, 2, 0, 1),                                          // [kh, kw, in, out] -> [out, in, kh, kw]
    '0.bias': t(convBias),
    '4.weight': t(denseKernel).reshape(H2, W2, F, UNITS).permute(2, 0, 1, 3).reshape(F * H2 * W2, UNITS).t(), // rows (h, w, c) -> (c, h, w)
    '4.bias': t(denseBias),
  }, { strict: false });                                                // the BatchNorm is loaded already
  const ours = model.eval().forward(t(xNhwc).permute(0, 3, 1, 2));    // (N, H, W, C) -> (N, C, H, W)
  // --- end of the recipe ---
  assertClose(ours.data, theirs, FLOAT32, 'Keras -> batchnorm, eval outputs');

  // The trap the recipe avoids: without the Flatten-order permutation nothing fails, and the numbers are wrong.
  const naive = new Sequential(...[...model].slice(0, 4), new Linear(H2 * W2 * F, UNITS));
  naive.loadStateDict({ '4.weight': t(denseKernel).t(), '4.bias': t(denseBias) }, { strict: false });
  assert.throws(() => assertClose(naive.forward(t(xNhwc).permute(0, 3, 1, 2)).data, theirs, FLOAT32, 'naive'), /naive/);

  // --- back: the inverse permutations, into a TF.js model of the same architecture ---
  const [conv, bn, , , linear] = [...model] as [Conv2d, BatchNorm, ReLU, Flatten, Linear];
  const tfOf = (x: Tensor) => tf.tensor(x.data as Float32Array, [...x.shape]);
  const exported = toKerasBatchNorm(bn);
  assert.equal(exported.axis, 1, 'the BatchNorm is channels first, like the Conv2d before it');
  const back = kerasModel();
  back.layers[0].setWeights([tfOf(conv.weight.permute(2, 3, 1, 0)), tfOf(conv.bias!)]);
  back.layers[1].setWeights(exported.weights.map((w) => tf.tensor1d(w)));
  back.layers[4].setWeights([tfOf(linear.weight.t().reshape(F, H2, W2, UNITS).permute(1, 2, 0, 3).reshape(H2 * W2 * F, UNITS)), tfOf(linear.bias!)]);
  keras.getWeights().forEach((w, i) => assert.deepEqual(back.getWeights()[i].dataSync(), w.dataSync(), `weight ${i} bit-identical after the round trip`));
  assert.deepEqual((back.predict(xNhwc) as tf.Tensor).dataSync(), theirs);
});

test("README: TF's 'same' padding with stride 2 pads bottom/right only; Conv2d's symmetric padding cannot express it", () => {
  const rng = new RNG(1);
  const layer = tf.layers.conv2d({ inputShape: [6, 6, 1], filters: 1, kernelSize: 3, strides: 2, padding: 'same', useBias: false });
  const x = randn([1, 6, 6, 1], { rng });
  const theirs = layer.apply(tf.tensor(x.data as Float32Array, [1, 6, 6, 1])) as tf.Tensor;
  const conv = new Conv2d(1, 1, 3, { stride: 2, padding: 1, bias: false });
  conv.loadStateDict({ weight: tensor(layer.getWeights()[0].dataSync(), [3, 3, 1, 1]).permute(3, 2, 0, 1) });
  const ours = conv.forward(x.permute(0, 3, 1, 2));
  assert.deepEqual(ours.shape, [1, 1, 3, 3], 'same output shape ...');
  assert.throws(() => assertClose(ours.data, theirs.dataSync(), FLOAT32, 'padding 1'), /padding 1/, '... different numbers');
  // Padding the input bottom/right by one row/column by hand gives TF's numbers.
  const padded = new Float32Array(7 * 7);
  for (let i = 0; i < 6; i++) for (let j = 0; j < 6; j++) padded[i * 7 + j] = x.data[i * 6 + j];
  const exact = new Conv2d(1, 1, 3, { stride: 2, bias: false });
  exact.loadStateDict(conv.stateDict());
  assertClose(exact.forward(tensor(padded, [1, 1, 7, 7])).data, theirs.dataSync(), FLOAT32, 'explicit bottom/right padding');
});
