// The worked example, against values computed by hand (closed forms), and the CLI that prints it.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runWorkedExample } from '../src/experiments/workedExample.js';
import { assertClose, FLOAT32 } from './helpers.js';

test('the classic 3x4 example: mean [5..8], variance 32/3 (biased) and 16 (unbiased), output +-sqrt(3/2)', () => {
  const r = runWorkedExample();
  assertClose(r.mean, [5, 6, 7, 8], FLOAT32, 'mean');
  assertClose(r.biasedVar, Array(4).fill(32 / 3), FLOAT32, 'biased variance');
  assertClose(r.unbiasedVar, Array(4).fill(16), FLOAT32, 'unbiased variance');
  const y = 4 / Math.sqrt(32 / 3 + 1e-5); // |x - mean| = 4 for the outer rows
  assertClose(r.output.flat(), [...Array(4).fill(-y), ...Array(4).fill(0), ...Array(4).fill(y)], FLOAT32, 'output');
  assert.equal(y.toFixed(4), '1.2247');
  const yu = 4 / Math.sqrt(16 + 1e-5);
  assertClose(r.outputWithUnbiasedVar.flat(), [...Array(4).fill(-yu), ...Array(4).fill(0), ...Array(4).fill(yu)], FLOAT32, 'unbiased output');
});

test('inference side: running stats follow 1 - 0.9^k; a batch of one errors in training, works in eval', () => {
  const r = runWorkedExample({ trainingSteps: 30 });
  for (const s of r.runningStats) {
    const d = 0.9 ** s.step;
    assertClose(s.runningMean, [5, 6, 7, 8].map((m) => (1 - d) * m), FLOAT32, `running mean at ${s.step}`);
    assertClose(s.runningVar, Array(4).fill(d + (1 - d) * 16), FLOAT32, `running var at ${s.step}`);
  }
  assert.match(r.sampleTrainError, /Expected more than 1 value per channel when training/);
  const last = r.runningStats[r.runningStats.length - 1];
  const expected = r.sample.map((v, i) => (v - last.runningMean[i]) / Math.sqrt(last.runningVar[i] + 1e-5));
  assertClose(r.sampleEvalOutput, expected, FLOAT32, 'eval output');
});

test('`batchnorm example` prints the computed example', () => {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const out = execFileSync(process.execPath, ['--import', 'tsx', 'cli/main.ts', 'example'], { cwd: root, encoding: 'utf8' });
  assert.match(out, /-1\.2247 +-1\.2247 +-1\.2247 +-1\.2247/);
  assert.match(out, /10\.6667/);
  assert.match(out, /16\.0000/);
  assert.match(out, /-1\.0000/);
  assert.match(out, /Expected more than 1 value per channel when training/);
});

test('`batchnorm --version` prints the version of package.json', () => {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
  const out = execFileSync(process.execPath, ['--import', 'tsx', 'cli/main.ts', '--version'], { cwd: root, encoding: 'utf8' });
  assert.equal(out.trim(), version);
});
