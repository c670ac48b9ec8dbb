// Santurkar et al. (2018) in the lab: the noise after BatchNorm, the landscape looks, and the
// runs that carry them (src/experiments/santurkar.ts, mlpVariants.ts, cli/commands/santurkar.ts).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { resumeRun, saveRun } from '../cli/lab/checkpoints.js';
import { loadMnist } from '../src/data/mnist.js';
import { santurkarRuns } from '../src/experiments/mlpVariants.js';
import { createMlpTrainer, defaultMlpConfig, run, type MlpConfig } from '../src/experiments/mnistMlp.js';
import { ActivationNoise, probeLandscape, santurkarSummary, summarizeLandscape } from '../src/experiments/santurkar.js';
import { loadCheckpoint } from '../src/io/checkpoint.js';
import { BatchNorm1d, Linear, RNG, Sequential, Sigmoid, crossEntropy, randn, sum, tensor } from '../src/index.js';

const data = loadMnist({ limit: 1000 });
const dir = mkdtempSync(join(tmpdir(), 'santurkar-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const small = (over: Partial<MlpConfig>): MlpConfig => ({ ...defaultMlpConfig, steps: 24, evalEvery: 8, percentileBatch: 100, evalLimit: 300, ...over });

describe('ActivationNoise (noisy BatchNorm)', () => {
  test('training mode: y * (a_j + c_j e1) + (b_j + d_j e2) with the documented draws; evaluation mode: the input itself', () => {
    const k = 0.8;
    const noise = new ActivationNoise(k, 3, 1);
    const x = randn([5, 4], { rng: new RNG(11) });
    const y = noise.perturb(x, new RNG(7));
    // The same draws, in the documented order: per unit a, b, c, d; then per sample and unit e1, e2.
    const r = new RNG(7);
    const unit = Array.from({ length: 4 }, () => ({ a: 1 + k * (r.uniform() - 0.5), b: k * (2 * r.uniform() - 1), c: (k / 2) * r.uniform(), d: (k / 2) * r.uniform() }));
    for (let i = 0; i < 5; i++) {
      for (let j = 0; j < 4; j++) {
        const { a, b, c, d } = unit[j];
        const scale = Math.fround(a + c * r.normal());
        const shift = Math.fround(b + d * r.normal());
        const want = Math.fround(Math.fround(x.data[i * 4 + j] * scale) + shift);
        assert.equal(y.data[i * 4 + j], want, `(${i}, ${j})`);
        assert.ok(a >= 1 - k / 2 && a <= 1 + k / 2 && Math.abs(b) <= k && c <= k / 2 && d <= k / 2, "a >= 1 - k / 2 && a <= 1 + k / 2 && Math.abs(b) <= k && c <= k / 2 && d <= k / 2");
      }
    }
    noise.eval();
    assert.equal(noise.forward(x), x);
  });

  test('the noise depends on (seed, layer, step) only, and the gradient through it is the sample\'s scale', () => {
    const x = randn([6, 3], { rng: new RNG(2), requiresGrad: true });
    const draw = (seed: number, layer: number, step: number): Float32Array => {
      const n = new ActivationNoise(1, seed, layer);
      n.setStep(step);
      return Float32Array.from(n.forward(x).data);
    };
    assert.deepEqual(draw(0, 0, 5), draw(0, 0, 5));
    assert.notDeepEqual(draw(0, 0, 5), draw(0, 0, 6));
    assert.notDeepEqual(draw(0, 0, 5), draw(0, 1, 5));
    assert.notDeepEqual(draw(0, 0, 5), draw(1, 0, 5));
    // y = x * s + t, so dy/dx = s = (y(x) - y(2x)) / (x - 2x) with the same draws.
    const n = new ActivationNoise(1, 0, 0);
    const y = n.perturb(x, new RNG(9));
    const y2 = n.perturb(tensor(Array.from(x.data, (v) => 2 * v), [6, 3]), new RNG(9));
    sum(y).backward();
    for (let i = 0; i < x.size; i++) {
      const scale = (y2.data[i] - y.data[i]) / x.data[i];
      assert.ok(Math.abs(x.grad!.data[i] - scale) <= 1e-5 * Math.max(1, Math.abs(scale)), `${x.grad!.data[i]} vs ${scale}`);
    }
  });

  test('bad settings are refused with what was expected', () => {
    assert.throws(() => new ActivationNoise(2, 0, 0), /noise strength must be in \(0, 2\) \(got 2\)/);
    assert.throws(() => new ActivationNoise(0, 0, 0), /\(got 0\)/);
    assert.throws(() => new ActivationNoise(1, 0, 0).perturb(randn([2, 3, 4]), new RNG(0)), /expected 2D input \(got 3D input\)/);
    assert.throws(() => createMlpTrainer(small({ name: 'n', bn: 'none', noise: 1 }), data), /noise is injected after BatchNorm layers: bn must be 'before' or 'after' \(got 'none'\)/);
    assert.throws(() => createMlpTrainer(small({ name: 'n', noise: 3 }), data), /noise must be in \(0, 2\) \(got 3\)/);
    assert.throws(() => createMlpTrainer(small({ name: 'n', landscape: { every: 0, lrMultiples: [1] } }), data), /landscape.every must be a positive integer \(got 0\)/);
    assert.throws(() => createMlpTrainer(small({ name: 'n', landscape: { every: 5, lrMultiples: [1, -2] } }), data), /landscape.lrMultiples must be positive numbers \(got \[1, -2\]\)/);
  });
});

describe('probeLandscape', () => {
  const net = (dtype: 'float32' | 'float64'): Sequential => {
    const rng = new RNG(4);
    return new Sequential(new Linear(5, 6, { rng, dtype }), new BatchNorm1d(6, { dtype }), new Sigmoid(), new Linear(6, 3, { rng, dtype }));
  };
  const batch = (dtype: 'float32' | 'float64') => ({ x: randn([8, 5], { rng: new RNG(5), dtype }), labels: Int32Array.from([0, 1, 2, 0, 1, 2, 1, 0]) });

  test('first order: loss(w - eta g) = loss(w) - eta ||g||^2 + O(eta^2), in float64', () => {
    const model = net('float64').train();
    const { x, labels } = batch('float64');
    const etas = [1e-4, 1e-5];
    const look = probeLandscape(model, x, labels, etas);
    for (const [i, eta] of etas.entries()) {
      const drop = look.loss - look.losses[i];
      const predicted = eta * look.gradNorm ** 2;
      assert.ok(Math.abs(drop - predicted) <= 20 * eta * predicted, `eta ${eta}: drop ${drop}, first order ${predicted}`);
    }
    // The loss at the weights uses the batch's statistics (training mode), not the running ones.
    model.eval();
    const evalLoss = crossEntropy(model.forward(x), labels).item();
    model.train();
    assert.notEqual(look.loss, evalLoss); // training-mode BatchNorm statistics, not the running ones
  });

  test('the losses and gradient changes equal those of a copy moved by hand', () => {
    const model = net('float64').train();
    const { x, labels } = batch('float64');
    const look = probeLandscape(model, x, labels, [0.5, 2]);
    const gradOf = (m: Sequential): { loss: number; g: number[] } => {
      m.zeroGrad();
      const l = crossEntropy(m.forward(x), labels);
      l.backward();
      return { loss: l.item(), g: m.parameters().flatMap((p) => Array.from(p.grad!.data)) };
    };
    const at = gradOf(model);
    model.zeroGrad();
    assert.ok(Math.abs(at.loss - look.loss) <= 1e-12 * at.loss, "Math.abs(at.loss - look.loss) <= 1e-12 * at.loss");
    for (const [i, eta] of [0.5, 2].entries()) {
      const copy = net('float64').train();
      let o = 0;
      for (const p of copy.parameters()) {
        for (let j = 0; j < p.size; j++) p.data[j] -= eta * at.g[o + j];
        o += p.size;
      }
      const moved = gradOf(copy);
      assert.ok(Math.abs(moved.loss - look.losses[i]) <= 1e-12 * Math.abs(moved.loss), "Math.abs(moved.loss - look.losses[i]) <= 1e-12 * Math.abs(moved.loss)");
      const change = Math.hypot(...moved.g.map((v, j) => v - at.g[j]));
      assert.ok(Math.abs(change - look.gradChanges[i]) <= 1e-10 * change, "Math.abs(change - look.gradChanges[i]) <= 1e-10 * change");
    }
    assert.ok(Math.abs(look.gradNorm - Math.hypot(...at.g)) <= 1e-12 * look.gradNorm, "Math.abs(look.gradNorm - Math.hypot(...at.g)) <= 1e-12 * look.gradNorm");
  });

  test('puts everything back: weights, running statistics and counters bit for bit, no gradient left', () => {
    const model = net('float32').train();
    const { x, labels } = batch('float32');
    model.forward(x); // some running statistics to keep
    const before = Object.fromEntries(Object.entries(model.stateDict()).map(([k, t]) => [k, Array.from(t.data)]));
    probeLandscape(model, x, labels, [0.1, 1, 10]);
    const afterLook = Object.fromEntries(Object.entries(model.stateDict()).map(([k, t]) => [k, Array.from(t.data)]));
    assert.deepEqual(afterLook, before);
    assert.ok(model.parameters().every((p) => p.grad === null), "model.parameters().every((p) => p.grad === null)");
    assert.throws(() => probeLandscape(model, x, labels, [0]), /step sizes must be positive numbers \(got 0\)/);
  });

  test('summarizeLandscape: loss range, largest gradient change, effective beta-smoothness', () => {
    const s = summarizeLandscape({ step: 0, loss: 1, gradNorm: 2, etas: [0.5, 1], losses: [0.7, 1.4], gradChanges: [0.6, 1] });
    assert.deepEqual(s, { lossMin: 0.7, lossMax: 1.4, gradChangeMax: 1, smoothness: 0.6 });
  });

  test('santurkarSummary: median moves after step 0, looks after step 0 averaged, NaN with nothing to average', () => {
    const look = (step: number, losses: number[], gradChanges: number[]) => ({ step, loss: 1, gradNorm: 1, etas: [1, 2], losses, gradChanges });
    const s = santurkarSummary({
      // Step 0 is left out: the moves are |1.5 - 1| and |0.5 - 1.5|.
      percentiles: [{ step: 0, p50: 9 }, { step: 10, p50: 1 }, { step: 20, p50: 1.5 }, { step: 30, p50: 0.5 }],
      // Step 0 is left out: loss ranges 1.5 - 0.5 = 1 and 3 - 1 = 2 (the loss at w counts), gradient changes 4 and 2.
      landscape: [look(0, [100, 100], [100, 100]), look(50, [0.5, 1.5], [4, 1]), look(100, [3, 2], [0.5, 2])],
    });
    assert.deepEqual(s, { medianMove: 0.75, lossRange: 1.5, gradChange: 3, smoothness: (4 + 1) / 2 });
    const empty = santurkarSummary({ percentiles: [{ step: 0, p50: 1 }], landscape: [look(0, [1, 1], [1, 1])] });
    assert.ok(Object.values(empty).every(Number.isNaN), JSON.stringify(empty));
  });
});

describe('the Santurkar runs in the lab', () => {
  test('looking at the landscape does not change training; runs differ only in bn and noise', () => {
    const [plain, bn, noisy] = santurkarRuns(small({}), 1, 8);
    assert.deepEqual([plain.bn, bn.bn, noisy.bn, noisy.noise, bn.noise], ['none', 'before', 'before', 1, undefined]);
    const looking = run(bn, data);
    const { landscape: _, ...quiet } = bn;
    const notLooking = run(quiet, data);
    assert.deepEqual(looking.curve.map((p) => [p.step, p.testAccuracy, p.loss]), notLooking.curve.map((p) => [p.step, p.testAccuracy, p.loss]));
    assert.deepEqual(looking.landscape.map((l) => l.step), [0, 8, 16]);
    assert.equal(notLooking.landscape.length, 0);
    for (const l of looking.landscape) assert.equal(l.losses.length, 5);
  });

  test('a noisy run is reproducible, resumes to the same numbers, and checkpoints as Identity layers', () => {
    const config = santurkarRuns(small({}), 1, 8)[2];
    const straight = run(config, data);
    assert.deepEqual(run(config, data).curve, straight.curve);
    const first = createMlpTrainer(config, data);
    first.evaluate();
    for (let i = 0; i < 12; i++) {
      first.step();
      if (first.stepsDone % config.evalEvery === 0) first.evaluate();
    }
    const path = saveRun(dir, first, data);
    const resumed = resumeRun(dir, config, data);
    assert.ok(resumed, "resumed");
    const metrics = run(config, data, {}, resumed);
    assert.deepEqual(metrics.curve.map((p) => [p.step, p.testAccuracy, p.loss]), straight.curve.map((p) => [p.step, p.testAccuracy, p.loss]));
    assert.deepEqual(metrics.percentiles, straight.percentiles);
    assert.deepEqual(metrics.landscape, straight.landscape);
    const { model } = loadCheckpoint(path);
    assert.deepEqual(model.layers().map((m) => m.constructor.name).slice(0, 4), ['Linear', 'BatchNorm1d', 'Identity', 'Sigmoid']);
  });

  test('the noisy run trains like the BN run while its sigmoid inputs move more (1,000 MNIST images, 150 steps)', () => {
    const runs = santurkarRuns(small({ steps: 150, evalEvery: 50, initStd: 0.1 }), 1, 50).map((c) => run(c, data));
    const [plain, bn, noisy] = runs.map((m) => m.curve.at(-1)!.testAccuracy);
    const move = (i: number): number => {
      const p = runs[i].percentiles.filter((x) => x.step > 0);
      return p.slice(1).reduce((s, x, j) => s + Math.abs(x.p50 - p[j].p50), 0);
    };
    assert.ok(noisy > plain + 0.1 && Math.abs(noisy - bn) < 0.1, `accuracies: plain ${plain}, BN ${bn}, noisy ${noisy}`);
    assert.ok(move(2) > move(1), `median moves: BN ${move(1)}, noisy ${move(2)}`);
  });
});

describe('the santurkar command', () => {
  test('prints both tables and writes results.json, report.html and the landscape figures', () => {
    const root = fileURLToPath(new URL('..', import.meta.url));
    const out = join(dir, 'cli');
    const stdout = execFileSync(process.execPath, ['--import', 'tsx', join(root, 'cli/main.ts'), 'santurkar', '--steps', '20', '--eval-every', '10', '--landscape-every', '10', '--limit', '300', '--out', out, '--no-progress'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    assert.match(stdout, /step\s+without BN\s+with BN\s+noisy BN/);
    assert.match(stdout, /run\s+median move\s+loss range\s+gradient change\s+beta-smoothness/);
    const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
    assert.equal(results.experiment, 'santurkar');
    assert.deepEqual(results.runs.map((r: { name: string }) => r.name), ['without BN', 'with BN', 'noisy BN']);
    for (const r of results.runs) assert.deepEqual(r.landscape.map((l: { step: number }) => l.step), [0, 10]);
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    for (const svg of ['accuracy.svg', 'percentiles-3.svg', 'landscape-loss.svg', 'landscape-gradient.svg', 'landscape-smoothness.svg']) {
      assert.ok(html.includes(`src="${svg}"`), svg);
      assert.match(readFileSync(join(out, svg), 'utf8'), /^<svg[\s\S]*<\/svg>$/);
    }
  });
});
