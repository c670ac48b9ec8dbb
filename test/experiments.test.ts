// The lab around the experiments: checkpoints and --resume, the variant configs, and the CLI's outputs.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { Writable } from 'node:stream';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { accuracySpec, depthAccuracySpec, renderSvg } from '../cli/lab/charts.js';
import { checkpointPaths, resumeRun, saveRun } from '../cli/lab/checkpoints.js';
import { datasetLabel, outFor, progressBar } from '../cli/lab/mlpLab.js';
import { loadMnist } from '../src/data/mnist.js';
import { classifyRun, depthRuns, figure1Runs, lrSweepRuns, placementRuns, usualInit } from '../src/experiments/mlpVariants.js';
import { buildMlp, createMlpTrainer, defaultMlpConfig, run, type MlpConfig } from '../src/experiments/mnistMlp.js';
import { Linear } from '../src/nn/linear.js';
import { loadCheckpoint } from '../src/io/checkpoint.js';
import { loadSafetensors, serializeSafetensors } from '../src/io/safetensors.js';

const data = loadMnist({ limit: 1000 });
const dir = mkdtempSync(join(tmpdir(), 'lab-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const small = (over: Partial<MlpConfig>): MlpConfig => ({ ...defaultMlpConfig, steps: 24, evalEvery: 8, percentileBatch: 100, evalLimit: 300, ...over });

describe('checkpoints and --resume', () => {
  for (const [label, over] of [
    ['SGD with momentum (momentum buffers saved)', { optimizer: 'sgd', momentum: 0.9, lr: 0.1 }],
    ['Adam (moments and step saved)', { optimizer: 'adam', lr: 1e-3 }],
  ] as const) {
    test(`stopping and resuming gives the same run as never stopping: ${label}`, () => {
      const config = small({ ...over, bn: 'before', name: `resume ${label.split(' ')[0]}` });
      const straight = run(config, data);
      // Stop after 12 steps (an evaluation at 8, none at 12), save, resume in a "new process".
      const first = createMlpTrainer(config, data);
      first.evaluate();
      for (let i = 0; i < 12; i++) {
        first.step();
        if (first.stepsDone % config.evalEvery === 0) first.evaluate();
      }
      saveRun(dir, first, data);
      const resumed = resumeRun(dir, config, data);
      assert.ok(resumed, "resumed");
      assert.equal(resumed.stepsDone, 12);
      const metrics = run(config, data, {}, resumed);
      assert.deepEqual(metrics.curve.map((p) => [p.step, p.testAccuracy, p.loss]), straight.curve.map((p) => [p.step, p.testAccuracy, p.loss]));
      assert.deepEqual(metrics.percentiles, straight.percentiles);
      assert.deepEqual(resumed.model.stateDict()['0.weight'].data, createdWeights(config, data));
    });
  }

  test('a run that diverged resumes as what it was (its curve and divergence), without loading its non-finite statistics', () => {
    // lr 3e38: the weights overflow at the first step, the second step's loss is NaN, and the
    // BatchNorm running statistics saved with the run are NaN, which loadStateDict refuses.
    const config = small({ bn: 'before', lr: 3e38, name: 'resume diverged' });
    const straight = run(config, data);
    assert.deepEqual(straight.diverged, { step: 2, reason: 'training loss became NaN' });
    const trainer = createMlpTrainer(config, data);
    run(config, data, {}, trainer);
    saveRun(dir, trainer, data);
    const file = checkpointPaths(dir, config.name).model;
    assert.ok(Object.values(loadSafetensors(file).tensors).some((t) => Array.from(t.data).some((v) => !Number.isFinite(v))), 'the checkpoint holds non-finite values');
    const resumed = resumeRun(dir, { ...config, steps: 48 }, data);
    assert.ok(resumed, "resumed");
    assert.deepEqual([resumed.stepsDone, resumed.diverged], [2, straight.diverged]);
    const again = run({ ...config, steps: 48 }, data, {}, resumed);
    assert.deepEqual(again.curve, straight.curve);
    assert.deepEqual(again.diverged, straight.diverged);
  });

  test('a checkpoint loads as a model with PyTorch keys; other settings refuse to resume', () => {
    const config = small({ name: 'keys', bn: 'before' });
    const t = createMlpTrainer(config, data);
    t.step();
    t.step();
    const path = saveRun(dir, t, data);
    const { model, metadata } = loadCheckpoint(path);
    assert.equal(metadata.step, '2');
    assert.deepEqual(Object.keys(model.stateDict()), Object.keys(t.model.stateDict()));
    assert.equal(model.stateDict()['1.num_batches_tracked'].item(), 2);
    assert.throws(() => resumeRun(dir, { ...config, lr: 0.1 }, data), /cannot resume: the checkpoint was made with lr = 0.5, this run asks for 0.1/);
    // More steps and another evaluation schedule are fine.
    assert.equal(resumeRun(dir, { ...config, steps: 100, evalEvery: 50 }, data)?.stepsDone, 2);
    // Other data (another --limit, or another copy with --data) is not: the batches would differ.
    const fewer = loadMnist({ limit: 600 });
    assert.throws(() => resumeRun(dir, config, fewer), /cannot resume: the checkpoint was trained on 1000 training and 1000 test images, hash [0-9a-f]{8}, this run has 600 training and 600 test images, hash [0-9a-f]{8} \(use the same --limit and --data/);
    const relabelled = { train: { ...data.train, labels: data.train.labels.map((l, i) => (i === 7 ? (l + 1) % 10 : l)) }, test: data.test };
    assert.throws(() => resumeRun(dir, config, relabelled), /cannot resume: the checkpoint was trained on 1000 training and 1000 test images, hash/);
    // The optimizer file must belong to the model's step: put back the one from step 2.
    const opt = checkpointPaths(dir, 'keys').optimizer;
    const optAtStep2 = readFileSync(opt);
    t.step();
    saveRun(dir, t, data);
    writeFileSync(opt, optAtStep2);
    assert.throws(() => resumeRun(dir, config, data), new RegExp(`${opt.replace(/[.]/g, '\\.')}: optimizer state is from step 2 and step 2 in the previous file, the model from step 3`));
  });

  test('a process stopped between writing the optimizer and the model (Ctrl-C) resumes from the last complete pair', () => {
    const config = small({ optimizer: 'sgd', momentum: 0.9, lr: 0.1, bn: 'before', name: 'interrupted' });
    const straight = run(config, data);
    const t = createMlpTrainer(config, data);
    t.evaluate();
    const steps = (k: number) => {
      for (let i = 0; i < k; i++) {
        t.step();
        if (t.stepsDone % config.evalEvery === 0) t.evaluate();
      }
    };
    steps(8);
    saveRun(dir, t, data);
    const paths = checkpointPaths(dir, config.name);
    const modelAt8 = readFileSync(paths.model);
    steps(8);
    saveRun(dir, t, data);
    writeFileSync(paths.model, modelAt8); // what a kill after the optimizer's rename leaves: the model of step 8
    const resumed = resumeRun(dir, config, data);
    assert.equal(resumed?.stepsDone, 8);
    const metrics = run(config, data, {}, resumed!);
    assert.deepEqual(metrics.curve.map((p) => [p.step, p.testAccuracy, p.loss]), straight.curve.map((p) => [p.step, p.testAccuracy, p.loss]));
    // Resumed from the previous file, the next save must not move step 16's optimizer file over it.
    const again = resumeRun(dir, config, data)!;
    again.step();
    saveRun(dir, again, data);
    assert.equal(loadSafetensors(paths.previousOptimizer).metadata.step, '8');
  });

  test('a corrupt or hand-edited progress or config record is an error naming the file and the key; nothing is overwritten', () => {
    const config = small({ name: 'corrupt', bn: 'before', steps: 6, momentum: 0.9, lr: 0.1 });
    const t = createMlpTrainer(config, data);
    t.evaluate();
    for (let i = 0; i < 4; i++) t.step();
    const path = saveRun(dir, t, data);
    const good = readFileSync(path);
    const { tensors, metadata } = loadSafetensors(path);
    const progress = JSON.parse(metadata['batchnorm.lab.progress']);
    const where = (key: string) => `${path.replace(/[.]/g, '\\.')}: metadata "batchnorm\\.lab\\.${key}"`;
    const cases: [string, string, RegExp][] = [
      // Before: 1e12 hung in BatchSampler.skip; 1e5, "x" and -5 resumed from garbage; {} and curve "x" crashed inside.
      ['progress', JSON.stringify({ ...progress, stepsDone: 1e5 }), /: stepsDone must be an integer in 0\.\.6, the run's steps \(got 100000\)/],
      ['progress', JSON.stringify({ ...progress, stepsDone: 'x' }), /: stepsDone must be an integer in 0\.\.6, the run's steps \(got "x"\)/],
      ['progress', JSON.stringify({ ...progress, stepsDone: -5 }), /: stepsDone must be an integer in 0\.\.6/],
      ['progress', 'null', /: expected an object such as \{"stepsDone":100,\.\.\.\} \(got null\)/],
      ['progress', '{}', /: stepsDone must be an integer in 0\.\.6, the run's steps \(got nothing\)/],
      ['progress', JSON.stringify({ ...progress, curve: 'x' }), /: curve must be an array of points \(got "x"\)/],
      ['progress', JSON.stringify({ ...progress, percentiles: [{ step: 9 }] }), /: percentiles\[0\] must be a point whose step is an integer in 0\.\.4/],
      ['progress', JSON.stringify({ ...progress, diverged: 'yes' }), /: diverged must be null or \{"step"/],
      ['progress', '{', /: metadata "batchnorm\.lab\.progress" is not valid JSON/],
      ['config', 'null', /: metadata "batchnorm\.lab\.config" should be a run config with a positive integer "steps" \(got null\)/],
      ['config', '{', /: metadata "batchnorm\.lab\.config" is not valid JSON/],
    ];
    for (const [key, value, error] of cases) {
      writeFileSync(path, serializeSafetensors(tensors, { ...metadata, [`batchnorm.lab.${key}`]: value }));
      const before = readFileSync(path);
      assert.throws(() => resumeRun(dir, config, data), (err: Error) => {
        assert.match(err.message, new RegExp(`^${where(key)}`), value);
        assert.match(err.message, error, value);
        return true;
      });
      assert.deepEqual(readFileSync(path), before);
    }
    writeFileSync(path, good);
    assert.throws(() => resumeRun(dir, { ...config, steps: 3 }, data), /cannot resume: the checkpoint has trained 4 steps, this run asks for 3 \(--steps may grow, not shrink\)/);
    // An optimizer file that lost all its state would restart the momentum silently.
    const opt = checkpointPaths(dir, 'corrupt').optimizer;
    const goodOpt = readFileSync(opt);
    writeFileSync(opt, serializeSafetensors({}, { step: '4' }));
    assert.throws(() => resumeRun(dir, config, data), new RegExp(`^Error: ${opt.replace(/[.]/g, '\\.')}: holds no optimizer state, but the run has made 4 updates with SGD momentum; the checkpoint is incomplete$`));
    writeFileSync(opt, goodOpt);
    writeFileSync(path, serializeSafetensors({ ...tensors, '0.weight': tensors['3.weight'] }, metadata));
    assert.throws(() => resumeRun(dir, config, data), new RegExp(`^Error: ${path.replace(/[.]/g, '\\.')}: Error\\(s\\) in loading state_dict for Sequential`));
    // The library checks a progress record too (createMlpTrainer's resume option).
    assert.throws(() => createMlpTrainer(config, data, { resume: { ...progress, stepsDone: 1e12 } }), /^TypeError: resume: stepsDone must be an integer in 0\.\.6/);
  });
});

/** The first layer's weights after training the config straight to its end (for the resume test). */
function createdWeights(config: MlpConfig, d: typeof data): Float32Array | Float64Array {
  const t = createMlpTrainer(config, d);
  while (t.stepsDone < config.steps) t.step();
  return t.model.stateDict()['0.weight'].data;
}

describe('experiment variants', () => {
  test('Figure 1 and placement runs differ only in bn; the sweep crosses rates with placements', () => {
    const [plain, bn] = figure1Runs({ lr: 0.3 });
    assert.deepEqual({ ...plain, name: '', bn: '' }, { ...bn, name: '', bn: '' });
    assert.deepEqual([plain.bn, bn.bn], ['none', 'before']);
    assert.deepEqual(placementRuns().map((c) => c.bn), ['none', 'before', 'after']);
    const sweep = lrSweepRuns({ base: defaultMlpConfig, lrs: [0.1, 10], placements: ['none', 'before'], stallBelow: 0.5 });
    assert.deepEqual(sweep.map((c) => [c.lr, c.bn]), [[0.1, 'none'], [0.1, 'before'], [10, 'none'], [10, 'before']]);
    assert.throws(() => lrSweepRuns({ base: defaultMlpConfig, lrs: [0], placements: ['none'], stallBelow: 0.5 }), /positive numbers \(got 0\)/);
  });

  test('depth runs: each depth without and with BN, from the init usual for the nonlinearity, same weights layer for layer', () => {
    // Glorot/Xavier for 100-100 layers: sqrt(2 / 200) = 0.1; He/Kaiming: sqrt(2 / 100).
    assert.deepEqual(usualInit('sigmoid', 100), { initStd: 0.1, lr: 0.5 });
    assert.deepEqual(usualInit('tanh', 100), { initStd: 0.1, lr: 0.1 });
    assert.deepEqual(usualInit('relu', 100), { initStd: Math.sqrt(0.02), lr: 0.1 });
    const runs = depthRuns({ lr: 0.2, initStd: 0.1 }, [2, 5], 30);
    assert.deepEqual(runs.map((c) => [c.name, c.hidden, c.bn, c.lr]), [
      ['without BN, depth 2', [30, 30], 'none', 0.2], ['with BN, depth 2', [30, 30], 'before', 0.2],
      ['without BN, depth 5', [30, 30, 30, 30, 30], 'none', 0.2], ['with BN, depth 5', [30, 30, 30, 30, 30], 'before', 0.2],
    ]);
    const weights = (c: MlpConfig) => buildMlp(c).layers().filter((m): m is Linear => m instanceof Linear).map((l) => Array.from(l.weight.data));
    assert.deepEqual(weights(runs[2]), weights(runs[3]), 'BN draws nothing: the same initial weights with and without it');
    assert.throws(() => depthRuns({}, [0]), /depths must be positive integers \(got 0\)/);
  });

  test('outcomes: diverges, stalls, trains', () => {
    const base = run(small({ steps: 8 }), data);
    assert.equal(classifyRun({ ...base, diverged: { step: 3, reason: 'x' } }, 0.5).outcome, 'diverges');
    const at = (a: number) => ({ ...base, curve: [{ ...base.curve[0], testAccuracy: a }] });
    assert.deepEqual(classifyRun(at(0.3), 0.5), { outcome: 'stalls', finalAccuracy: 0.3 });
    assert.deepEqual(classifyRun(at(0.9), 0.5), { outcome: 'trains', finalAccuracy: 0.9 });
  });
});

describe('figures', () => {
  test('an accuracy chart zooms without moving values: below its axis a line is clipped, not drawn on the axis, and the axis says it is zoomed', async () => {
    const curve = [0.1, 0.51, 0.9, 0.95, 0.96, 0.97].map((testAccuracy, i) => ({ step: i * 100, testAccuracy, loss: 1, trainLoss: null }));
    const spec = accuracySpec([{ name: 'plain', curve }]) as { mark: { clip: boolean }; encoding: { y: { title: string; scale: object } } };
    // The floor is a bit below the lowest accuracy after the first tenth (0.51 at step 100); 0.1 at step 0 is under it.
    assert.deepEqual(spec.encoding.y.scale, { domain: [0.48, 1] }, 'no clamp');
    assert.equal(spec.encoding.y.title, 'test accuracy (zoomed: from 0.48)');
    assert.equal(spec.mark.clip, true);
    assert.match(await renderSvg(spec), /clip-path/);
    const above = accuracySpec([{ name: 'plain', curve: curve.slice(1) }]) as typeof spec;
    assert.equal(above.encoding.y.title, 'test accuracy', 'nothing under the axis: not called zoomed');
  });

  test('the depth chart: a colour per depth in numeric order, dashes without BN, legend labels whole', async () => {
    const curve = [0.1, 0.5, 0.9].map((testAccuracy, i) => ({ step: i * 100, testAccuracy, loss: 1, trainLoss: null }));
    const svg = await renderSvg(depthAccuracySpec([10, 2].flatMap((depth) => [false, true].map((bn) => ({ depth, bn, curve })))));
    const legend = [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]).filter((t) => ['2', '10', 'with BN', 'without BN'].includes(t));
    assert.deepEqual(legend, ['2', '10', 'with BN', 'without BN']);
    assert.match(svg, /stroke-dasharray="6,3"/);
    assert.doesNotMatch(await renderSvg(accuracySpec([{ name: 'without BN, depth 10', curve }, { name: 'with BN, depth 20', curve }])), /…/);
  });
});

describe('the CLI', () => {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const cli = (...args: string[]): string =>
    execFileSync(process.execPath, ['--import', 'tsx', join(root, 'cli/main.ts'), ...args], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

  test('a wrong value stops the command with the flag named, before any data is loaded', () => {
    const fails = (args: string[], message: RegExp) => assert.throws(() => cli(...args), (e: { stderr: string; status: number }) => {
      assert.equal(e.status, 1);
      assert.match(e.stderr, message);
      assert.doesNotMatch(e.stderr, /images from|\n\s+at /, 'no data loaded, no stack trace');
      return true;
    });
    fails(['example', '--steps', '-3'], /^batchnorm: --steps expects an integer >= 1 \(got '-3'\)/);
    fails(['example', '--steps', 'abc'], /--steps expects an integer >= 1 \(got 'abc'\)/);
    fails(['mnist', '--steps', '0'], /--steps expects an integer >= 1 \(got '0'\)/);
    fails(['mnist', '--momentum', '2'], /--momentum expects a number in \[0, 1\), e\.g\. 0\.9 \(got '2'\)/);
    fails(['convnet', '--momentum', 'abc'], /--momentum expects a number in \[0, 1\)/);
    fails(['mnist', '--data', 'README.md'], /data directory README\.md is not a directory/);
    fails(['export', '--checkpoint', 'x.safetensors', '--onnx', 'x.onnx', '--input-shape', '1,784,x'], /--input-shape expects positive integers/);
  });

  test('a Fashion-MNIST run has its own default --out, and the dataset is named as used', () => {
    assert.deepEqual(['runs/mnist', 'runs/depth', 'runs/convnet'].map((o) => outFor(o, 'fashion-mnist')), ['runs/fashion-mnist', 'runs/depth-fashion-mnist', 'runs/convnet-fashion-mnist']);
    assert.equal(outFor('runs/mnist', 'mnist'), 'runs/mnist');
    assert.equal(datasetLabel({ dataset: 'fashion-mnist', data: '/x' }), 'Fashion-MNIST (from /x)');
    assert.match(cli('mnist', '--help'), /default: runs\/mnist, or runs\/fashion-mnist\s+with --dataset fashion-mnist/);
  });

  test('--resume with no checkpoint in --out says it starts from step 0', () => {
    const out = join(dir, 'resume-empty');
    const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'cli/main.ts'), 'mnist', '--steps', '2', '--eval-every', '2', '--limit', '300', '--out', out, '--resume', '--no-progress'], { cwd: root, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.ok(r.stderr.includes(`without BN: --resume, but no checkpoint ${join(out, 'checkpoints', 'without-bn.safetensors')}: starting from step 0`), r.stderr);
  });

  test('mnist writes results.json, report.html and its SVGs, and checkpoints predict can use', () => {
    const out = join(dir, 'cli');
    const stdout = cli('mnist', '--steps', '20', '--eval-every', '10', '--limit', '300', '--out', out, '--no-progress');
    assert.match(stdout, /step\s+without BN\s+paper\s+with BN\s+paper/);
    const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
    assert.equal(results.experiment, 'figure1');
    assert.deepEqual(results.runs.map((r: { name: string }) => r.name), ['without BN', 'with BN']);
    for (const r of results.runs) {
      assert.deepEqual(r.curve.map((p: { step: number }) => p.step), [0, 10, 20]);
      assert.equal(r.settings.batchSize, 60);
      assert.equal(r.percentiles.length, 3);
      assert.ok(['testAccuracy', 'loss'].every((k) => typeof r.curve[2][k] === 'number'), "['testAccuracy', 'loss'].every((k) => typeof r.curve[2][k] === 'number')");
    }
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    for (const svg of ['accuracy.svg', 'percentiles-1.svg', 'percentiles-2.svg']) {
      assert.ok(html.includes(`src="${svg}"`), svg);
      assert.match(readFileSync(join(out, svg), 'utf8'), /^<svg[\s\S]*<\/svg>$/);
    }
    const ckpt = join(out, 'checkpoints', 'with-bn.safetensors');
    assert.ok(existsSync(ckpt), "existsSync(ckpt)");
    assert.match(cli('predict', '--checkpoint', ckpt, '--index', '0', '--no-picture'), /mnist test image 0: predicted \d with probability [01]\.\d{4}; true label 7/);
    // --train-mode shows why inference needs eval mode: PyTorch's error, then the reason.
    assert.match(cli('predict', '--checkpoint', ckpt, '--index', '0', '--train-mode'),
      /^training mode: Expected more than 1 value per channel when training, got input size \[1, 100\]\nIn training mode BatchNorm normalises each feature with the mean and variance of the batch/);
  });

  test('depth: the plain sigmoid network stops training as it gets deeper, the BN one does not', () => {
    const out = join(dir, 'depth');
    const stdout = cli('depth', '--depths', '1,6', '--steps', '160', '--eval-every', '40', '--limit', '1000', '--out', out, '--no-progress');
    assert.match(stdout, /hidden layers\s+without BN @40\s+with BN @40\s+without BN @160\s+with BN @160/);
    assert.match(stdout, /sigmoid, 100 units a layer, weights from N\(0, 0\.1000\^2\), SGD at lr 0\.5/);
    const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
    assert.equal(results.experiment, 'depth');
    const final = Object.fromEntries(results.runs.map((r: { name: string; curve: { testAccuracy: number }[] }) => [r.name, r.curve.at(-1)!.testAccuracy]));
    assert.deepEqual(Object.keys(final), ['without BN, depth 1', 'with BN, depth 1', 'without BN, depth 6', 'with BN, depth 6']);
    // Six sigmoid layers from the usual init: the gradient reaching the first layers is ~0.25^6 smaller, and the plain network sits at chance.
    assert.ok(final['without BN, depth 6'] < 0.2, `plain, depth 6: ${final['without BN, depth 6']}`);
    assert.ok(final['with BN, depth 6'] > 0.6, `BN, depth 6: ${final['with BN, depth 6']}`);
    assert.ok(final['without BN, depth 1'] > 0.6, `plain, depth 1: ${final['without BN, depth 1']}`);
    assert.match(stdout, /6\s+0\.\d{4}\s+0\.\d{4}\s+stalls 0\.\d{4}\s+0\.\d{4}/);
    for (const svg of ['depth.svg', 'depth-accuracy.svg']) assert.match(readFileSync(join(out, svg), 'utf8'), /^<svg[\s\S]*<\/svg>$/);
    // The early column is an evaluated step (a quarter of 8 steps is 2; the first evaluation is at 3), not an earlier one under its label.
    const early = cli('depth', '--depths', '2', '--steps', '8', '--eval-every', '3', '--limit', '300', '--out', join(dir, 'depth-early'), '--no-progress');
    assert.match(early, /without BN @3\s+with BN @3\s+without BN @8\s+with BN @8/);
    // ReLU gets He init and its own rate unless they are given.
    const relu = join(dir, 'depth-relu');
    cli('depth', '--depths', '2', '--steps', '4', '--eval-every', '4', '--limit', '300', '--activation', 'relu', '--out', relu, '--no-progress');
    const settings = JSON.parse(readFileSync(join(relu, 'results.json'), 'utf8')).runs.map((r: { settings: MlpConfig }) => r.settings);
    assert.deepEqual(settings.map((c: MlpConfig) => [c.activation, c.initStd, c.lr]), [['relu', Math.sqrt(0.02), 0.1], ['relu', Math.sqrt(0.02), 0.1]]);
    cli('depth', '--depths', '2', '--steps', '4', '--eval-every', '4', '--limit', '300', '--activation', 'relu', '--init-std', '0.05', '--lr', '0.2', '--out', relu, '--no-progress');
    const given = JSON.parse(readFileSync(join(relu, 'results.json'), 'utf8')).runs[0].settings;
    assert.deepEqual([given.initStd, given.lr], [0.05, 0.2]);
    for (const [args, message] of [[['--depths', '3,x'], /--depths expects positive integers separated by commas \(got 'x'\)/], [['--activation', 'gelu'], /--activation must be 'sigmoid', 'relu' or 'tanh' \(got 'gelu'\)/]] as const) {
      assert.throws(() => cli('depth', ...args, '--out', relu), (e: { stderr: string }) => message.test(e.stderr), args.join(' '));
    }
  });
});

test('the progress bar shows no ETA before it has one (cli-progress printed "ETA NFs")', () => {
  let text = '';
  const stream = Object.assign(new Writable({ write(chunk, _enc, done) { text += String(chunk); done(); } }), { isTTY: true, columns: 100 });
  const bar = progressBar('[1/1] with BN', 1000, { labelWidth: 14, speed: true, etaBuffer: 200, stream: stream as unknown as NodeJS.WriteStream });
  bar.start(1000, 0, { acc: '  -   ', speed: '-' });
  const first = text;
  bar.stop();
  assert.match(first, /\[1\/1\] with BN +░+ 0\/1000 acc +- +- steps\/s ETA --m--s/);
});
