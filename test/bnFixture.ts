// The PyTorch BatchNorm fixture (test/fixtures/batchnorm.json, made by scripts/gen_fixtures.py)
// and its replay through the modules: used by test/batchnorm.test.ts and, on every backend,
// by test/kernels.test.ts.
import assert from 'node:assert/strict';
import { BatchNorm, BatchNorm1d, BatchNorm2d, BatchNorm3d, tensor } from '../src/index.js';
import { assertClose, loadFixture, type Tolerance } from './helpers.js';

export interface Step {
  mode: 'train' | 'eval';
  input: { shape: number[]; data: number[] };
  gradOutput: { shape: number[]; data: number[] };
  output: number[];
  gradInput: number[];
  gradWeight: number[] | null;
  gradBias: number[] | null;
  runningMean: number[] | null;
  runningVar: number[] | null;
  numBatchesTracked: number | null;
}
export interface Case {
  name: string;
  module: 'BatchNorm1d' | 'BatchNorm2d' | 'BatchNorm3d';
  numFeatures: number;
  options: { eps: number; momentum: number | null; affine: boolean; trackRunningStats: boolean };
  dtype: 'float32' | 'float64';
  inputsExactInFloat32: boolean;
  weight: number[] | null;
  bias: number[] | null;
  steps: Step[];
}

const MODULES = { BatchNorm1d, BatchNorm2d, BatchNorm3d };
export const fixture = loadFixture<{ torch: string; cases: Case[] }>('batchnorm.json');

/** Replays a PyTorch case step by step in `dtype` and compares every recorded quantity. */
export function replay(c: Case, dtype: 'float32' | 'float64', tol: Tolerance): void {
  const bn: BatchNorm = new MODULES[c.module](c.numFeatures, { ...c.options, dtype });
  if (c.weight) bn.weight!.data.set(c.weight);
  if (c.bias) bn.bias!.data.set(c.bias);
  c.steps.forEach((s, i) => {
    const at = `${c.name} step ${i} (${s.mode}, ${dtype})`;
    bn.train(s.mode === 'train');
    const x = tensor(s.input.data, s.input.shape, { dtype, requiresGrad: true });
    const y = bn.forward(x);
    y.backward(tensor(s.gradOutput.data, s.gradOutput.shape, { dtype }));
    assertClose(y.data, s.output, tol, `${at} output`);
    assertClose(x.grad!.data, s.gradInput, tol, `${at} gradInput`);
    if (s.gradWeight) assertClose(bn.weight!.grad!.data, s.gradWeight, tol, `${at} gradWeight`);
    if (s.gradBias) assertClose(bn.bias!.grad!.data, s.gradBias, tol, `${at} gradBias`);
    assert.equal(bn.weight === null, s.gradWeight === null, `${at}: affine`);
    if (s.runningMean) assertClose(bn.runningMean!.data, s.runningMean, tol, `${at} runningMean`);
    if (s.runningVar) assertClose(bn.runningVar!.data, s.runningVar, tol, `${at} runningVar`);
    assert.equal(bn.runningMean === null, s.runningMean === null, `${at}: running stats tracked`);
    assert.equal(bn.numBatchesTracked?.item() ?? null, s.numBatchesTracked, `${at} numBatchesTracked`);
    bn.zeroGrad();
  });
}
