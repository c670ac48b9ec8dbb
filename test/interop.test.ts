// PyTorch round trip, both ways (fixtures: scripts/gen_ts_interop.ts + scripts/gen_interop_fixtures.py).
//   pt_*: trained and saved by PyTorch, loaded here.   ts_*: trained and saved here, loaded by PyTorch.
// For each, PyTorch recorded what it computes with those weights; we must compute the same.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { BatchNorm1d, crossEntropy, Linear, ReLU, Sequential, SGD, Tanh, Tensor, type Module } from '../src/index.js';
import { loadCheckpoint } from '../src/io/checkpoint.js';
import { loadSafetensors } from '../src/io/safetensors.js';

const FIX = new URL('./fixtures/interop/', import.meta.url);

interface Expected {
  inputShape: number[];
  xEval: number[];
  outEval: number[];
  xTrain: number[];
  target: number[];
  outTrain: number[];
  loss: number;
  lr: number;
  stateAfter: Record<string, { dtype: string; shape: number[]; data: number[] }>;
}

/**
 * Float32 tolerance: |ours - torch| <= 1e-6 * (1 + |torch|). Both sides compute in float32 with
 * different summation orders; the worst observed difference is 1.0e-7 (INTEROP_VERBOSE=1 prints them).
 */
function close(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string, tol = 1e-6): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    const err = Math.abs(actual[i] - expected[i]) / (1 + Math.abs(expected[i]));
    if (!(err <= tol)) assert.fail(`${what}[${i}]: ${actual[i]} vs PyTorch ${expected[i]} (relative error ${err})`);
    worst = Math.max(worst, err);
  }
  maxErr[what.split(':')[0]] = Math.max(maxErr[what.split(':')[0]] ?? 0, worst);
}
const maxErr: Record<string, number> = {};

function checkAgainstTorch(model: Module, e: Expected, label: string): void {
  const x = (flat: number[]) => new Tensor(Float32Array.from(flat), [flat.length / e.inputShape.reduce((a, b) => a * b), ...e.inputShape]);
  model.eval();
  close(model.forward(x(e.xEval)).data, e.outEval, `${label} eval output`);
  model.train();
  const out = model.forward(x(e.xTrain));
  close(out.data, e.outTrain, `${label} train output`);
  const loss = crossEntropy(out, e.target);
  close([loss.item()], [e.loss], `${label} loss`);
  const opt = new SGD(model.parameters(), { lr: e.lr });
  opt.zeroGrad();
  loss.backward();
  opt.step();
  const state = model.stateDict();
  assert.deepEqual(Object.keys(state), Object.keys(e.stateAfter), `${label}: state dict keys and order are PyTorch's`);
  for (const [k, v] of Object.entries(e.stateAfter)) {
    assert.deepEqual(state[k].shape, v.shape, `${label} ${k} shape`);
    if (v.dtype === 'I64') {
      assert.equal(state[k].dtype, 'int64', `${label} ${k} dtype`);
      assert.deepEqual(Array.from(state[k].data), v.data, `${label} ${k} (counts are exact)`);
    } else {
      close(state[k].data, v.data, `${label} ${k} after one step`);
    }
  }
}

for (const source of ['pt', 'ts'] as const) {
  for (const name of ['mlp', 'conv']) {
    const label = `${source}_${name}`;
    const direction = source === 'pt' ? 'saved by PyTorch, run here' : 'saved here, run by PyTorch';
    test(`${label} (${direction}): eval output, train output, loss and state after one more step match PyTorch`, () => {
      const expected: Expected = JSON.parse(readFileSync(new URL(`${label}.json`, FIX), 'utf8'));
      const { model, metadata } = loadCheckpoint(new Uint8Array(readFileSync(new URL(`${label}.safetensors`, FIX))));
      assert.equal(metadata.format, 'pt');
      checkAgainstTorch(model, expected, label);
    });
  }
}

test('a PyTorch file loads into a model built by hand (no architecture needed), strictly', () => {
  const expected: Expected = JSON.parse(readFileSync(new URL('pt_mlp.json', FIX), 'utf8'));
  const { tensors } = loadSafetensors(new URL('pt_mlp.safetensors', FIX).pathname);
  assert.equal(tensors['1.num_batches_tracked'].dtype, 'int64');
  assert.equal(tensors['1.num_batches_tracked'].item(), 3);
  const model = new Sequential(
    new Linear(6, 8), new BatchNorm1d(8), new ReLU(),
    new Linear(8, 4), new BatchNorm1d(4, { momentum: 0.3, eps: 1e-3 }), new Tanh(),
    new Linear(4, 3),
  );
  model.loadStateDict(tensors);
  checkAgainstTorch(model, expected, 'hand-built pt_mlp');
  // Wrong architecture: an error naming the key, and the model is left as it was.
  const wrong = new Sequential(new Linear(6, 8), new BatchNorm1d(8), new ReLU(), new Linear(8, 5));
  const before = Array.from(wrong.stateDict()['0.weight'].data);
  assert.throws(() => wrong.loadStateDict(tensors), /Unexpected key\(s\) in state_dict: [^\n]*"4\.weight"[^]*size mismatch for 3\.weight: copying a param with shape \[4, 8\] from checkpoint, the shape in current model is \[5, 8\]/);
  assert.deepEqual(Array.from(wrong.stateDict()['0.weight'].data), before);
});

test.after(() => {
  if (process.env.INTEROP_VERBOSE) console.log('worst relative errors:', maxErr);
});
