// The web lab. Part 1 (Node, milliseconds): the numbers behind each picture, against closed
// forms computed here independently. Part 2 (a real browser): the built page in Debian's
// Chromium driven by playwright-core; skipped, with a message, when /usr/bin/chromium is absent.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import { parseIdx, toImageSet } from '../src/data/idx.js';
import { buildMlp, createMlpTrainer, type MlpConfig, type MlpData } from '../src/experiments/mnistMlp.js';
import { getNumThreads, setNumThreads } from '../src/kernels/index.js';
import { WasmRuntime } from '../src/kernels/wasm/runtime.js';
import { BatchNorm } from '../src/nn/batchnorm.js';
import { RNG } from '../src/random.js';
import { Tensor } from '../src/tensor/tensor.js';
import { buildWeb, CHROMIUM, hasChromium, launchChromium, serveStatic } from '../web/e2e.js';
import { activationInputs, classifySingle, driftConfigs, histogram, lastBatchNormChannels, shouldEvaluate, softmax } from '../web/lab/drift.js';
import { santurkarConfigs } from '../web/lab/santurkar.js';
import { CLASSIC_BATCH, normalizeBatch } from '../web/lab/normalize.js';
import { curvature, descend, lossGrid, makeRavineData, normalizeFeatures } from '../web/lab/ravine.js';
import { DEFAULT_RUNNING_STATS, trackRunningStats } from '../web/lab/runningStats.js';
import { describeRuntime } from '../web/lab/runtime.js';
import { readMnistSubset, sliceIdx } from '../web/mnistData.js';
import type { FromWorker, LabName, RunName, RunSnapshot } from '../web/protocol.js';

const EPS = 1e-5;

/** Column-wise batch normalisation written out by hand: the textbook formula, biased variance. */
function byHand(batch: number[][], gamma: number[], beta: number[]): { xHat: number[][]; y: number[][] } {
  const n = batch.length;
  const c = batch[0].length;
  const mean = Array.from({ length: c }, (_, j) => batch.reduce((s, r) => s + r[j], 0) / n);
  const v = Array.from({ length: c }, (_, j) => batch.reduce((s, r) => s + (r[j] - mean[j]) ** 2, 0) / n);
  const xHat = batch.map((r) => r.map((x, j) => (x - mean[j]) / Math.sqrt(v[j] + EPS)));
  return { xHat, y: xHat.map((r) => r.map((x, j) => gamma[j] * x + beta[j])) };
}

function close(actual: number, expected: number, tol: number, label: string): void {
  assert.ok(Math.abs(actual - expected) <= tol, `${label}: got ${actual}, expected ${expected} (tolerance ${tol})`);
}

describe('web lab: the numbers behind the pictures', () => {
  test('worked example: the classic 3x4 batch gives -1.2247 / 0 / 1.2247 in every column', () => {
    const r = normalizeBatch(CLASSIC_BATCH, [1, 1, 1, 1], [0, 0, 0, 0]);
    // Each column is m-4, m, m+4: biased variance 32/3, so x-hat = +-4 / sqrt(32/3 + eps).
    const edge = 4 / Math.sqrt(32 / 3 + EPS);
    for (let j = 0; j < 4; j++) {
      close(r.mean[j], 5 + j, 1e-12, `mean[${j}]`);
      close(r.variance[j], 32 / 3, 1e-12, `variance[${j}]`);
      close(r.xHat[0][j], -edge, 1e-12, `xHat[0][${j}]`);
      close(r.xHat[1][j], 0, 1e-12, `xHat[1][${j}]`);
      close(r.xHat[2][j], edge, 1e-12, `xHat[2][${j}]`);
    }
    assert.equal(edge.toFixed(4), '1.2247');
  });

  test('worked example: gamma and beta on random data match the formula written out', () => {
    const rng = new RNG(11);
    const batch = Array.from({ length: 5 }, () => [100 + 30 * rng.normal(), 1e-3 * rng.normal(), rng.normal(), -7 + rng.normal()]);
    const gamma = [2, -0.5, 0, 1.25];
    const beta = [0.5, 3, -1, 0];
    const r = normalizeBatch(batch, gamma, beta);
    const h = byHand(batch, gamma, beta);
    for (let i = 0; i < 5; i++) {
      for (let j = 0; j < 4; j++) {
        close(r.xHat[i][j], h.xHat[i][j], 1e-9, `xHat[${i}][${j}]`);
        close(r.y[i][j], h.y[i][j], 1e-9, `y[${i}][${j}]`);
      }
    }
    assert.throws(() => normalizeBatch([[1, 2]], [1, 1], [0, 0]), /Expected more than 1 value per channel when training/);
    assert.throws(() => normalizeBatch(CLASSIC_BATCH, [1], [0]), /expected 4 values of gamma and beta \(got 1 and 1\)/);
  });

  test('ravine: descent follows w <- w - lr * 2/N X^T (Xw - y), written out in float64', () => {
    const data = makeRavineData();
    const x = data.x.data;
    const y = data.y.data;
    const n = y.length;
    const lr = 0.008;
    const path = descend(data, [-0.5, 2.8], lr, 40);
    let w = [-0.5, 2.8];
    for (const p of path) {
      let loss = 0;
      const g = [0, 0];
      for (let i = 0; i < n; i++) {
        const r = w[0] * x[2 * i] + w[1] * x[2 * i + 1] - y[i];
        loss += (r * r) / n;
        g[0] += (2 / n) * r * x[2 * i];
        g[1] += (2 / n) * r * x[2 * i + 1];
      }
      close(p.w1, w[0], 1e-10, `w1 at step ${p.step}`);
      close(p.w2, w[1], 1e-10, `w2 at step ${p.step}`);
      close(p.loss, loss, 1e-9 * Math.max(1, loss), `loss at step ${p.step}`);
      w = [w[0] - lr * g[0], w[1] - lr * g[1]];
    }
    assert.equal(path.length, 41);
  });

  test('ravine: raw features are a ravine (stable lr ~ 1/100 of the bowl), normalised ones a bowl', () => {
    const raw = makeRavineData();
    const norm = normalizeFeatures(raw);
    // BatchNorm1d over the whole set: each feature mean 0, biased variance v / (v + eps) ~ 1.
    const xs = norm.x.data;
    for (let j = 0; j < 2; j++) {
      let m = 0;
      let s = 0;
      for (let i = 0; i < 64; i++) m += xs[2 * i + j] / 64;
      for (let i = 0; i < 64; i++) s += (xs[2 * i + j] - m) ** 2 / 64;
      close(m, 0, 1e-12, `normalised mean ${j}`);
      close(s, 1, 1e-4, `normalised variance ${j}`);
    }
    const cr = curvature(raw);
    const cn = curvature(norm);
    assert.ok(cr.condition > 50 && cr.condition < 200, `raw steepness ratio ${cr.condition} (features scaled 1 and 10: ~100)`);
    assert.ok(cn.condition < 2, `normalised steepness ratio ${cn.condition}`);
    // Just under 2/lambda_max descends, just over it runs away: the threshold is real.
    const below = descend(raw, [-0.5, 2.8], 0.95 * cr.maxStableLr, 300);
    const above = descend(raw, [-0.5, 2.8], 1.05 * cr.maxStableLr, 3000);
    assert.ok(below.at(-1)!.loss < below[0].loss / 100, 'below the threshold the loss falls');
    assert.ok(above.at(-1)!.loss > 1e8 && above.length < 3001, 'above the threshold the descent is cut off as diverged');
    // The same rate that diverges on raw features converges in a few steps on normalised ones.
    const bowl = descend(norm, [-0.5, 2.8], 0.5, 10);
    assert.ok(bowl.at(-1)!.loss < 0.2, `normalised loss after 10 steps at lr 0.5: ${bowl.at(-1)!.loss}`);
  });

  test('ravine: the contour grid is the loss at each grid point, row 0 at the top', () => {
    const data = makeRavineData();
    const domain = { w1: [-1, 4] as [number, number], w2: [-2, 3] as [number, number] };
    const grid = lossGrid(data, domain, 10);
    const direct = (w1: number, w2: number): number => descend(data, [w1, w2], 1e-9, 0)[0].loss;
    // Cell (row 0, col 0) is centred at w1 = -0.75, w2 = 2.75; (row 9, col 4) at w1 = 1.25, w2 = -1.75.
    close(grid[0], direct(-0.75, 2.75), 1e-9 * grid[0], 'grid[0][0]');
    close(grid[9 * 10 + 4], direct(1.25, -1.75), 1e-9 * grid[94], 'grid[9][4]');
  });

  test('running statistics: exponential moving average with momentum, plain average with momentum null', () => {
    const cfg = { ...DEFAULT_RUNNING_STATS, steps: 30 };
    const ema = trackRunningStats(cfg);
    let m = 0;
    let v = 1;
    for (const p of ema.slice(1)) {
      m = 0.9 * m + 0.1 * p.batchMean;
      v = 0.9 * v + 0.1 * p.batchVar;
      close(p.runningMean, m, 1e-12, `running mean at ${p.step}`);
      close(p.runningVar, v, 1e-12, `running var at ${p.step}`);
    }
    const cum = trackRunningStats({ ...cfg, momentum: null });
    const points = cum.slice(1);
    points.forEach((p, k) => {
      const seen = points.slice(0, k + 1);
      close(p.runningMean, seen.reduce((s, q) => s + q.batchMean, 0) / (k + 1), 1e-12, `cumulative mean at ${p.step}`);
      close(p.runningVar, seen.reduce((s, q) => s + q.batchVar, 0) / (k + 1), 1e-12, `cumulative var at ${p.step}`);
    });
    // Same seed, same batches: the two runs saw identical data.
    assert.deepEqual(cum.map((p) => p.batchMean), ema.map((p) => p.batchMean));
  });

  test('drift: histograms count every value once, outliers in the end bins', () => {
    // Bins [-6, -3), [-3, 0), [0, 3), [3, 6]; NaN is not counted.
    assert.deepEqual(histogram([-100, -6, -5.9, -1, 0, 0.1, 5.99, 6, 100, NaN], -6, 6, 4), [3, 1, 2, 3]);
  });

  test('one image: eval mode uses running statistics; a batch of one makes every BN output beta', () => {
    const model = buildMlp({ hidden: [20, 20], activation: 'sigmoid', bn: 'before', initStd: 0.3, seed: 4 }, 16, 10);
    const rng = new RNG(9);
    const image = (): Tensor => new Tensor(Float32Array.from({ length: 16 }, () => rng.uniform()), [1, 16]);
    // Give the running statistics and beta something other than their initial values.
    for (const [name, t] of Object.entries(model.stateDict())) {
      if (/running_mean|bias/.test(name)) t.data.forEach((_, i, a) => (a[i] = rng.normal() * 0.5));
      if (name.endsWith('running_var')) t.data.forEach((_, i, a) => (a[i] = 0.5 + rng.uniform()));
    }
    const a = image();
    const b = image();
    const ra = classifySingle(model, a);
    const rb = classifySingle(model, b);
    assert.equal(model.training, false, 'the model is left in eval mode');
    assert.match(ra.trainError, /^Expected more than 1 value per channel when training, got input size \[1, 20\]$/);
    // Eval mode is the model's own forward.
    const expected = softmax(model.forward(a).data);
    ra.evalProbs.forEach((p, k) => close(p, expected[k], 1e-7, `eval prob ${k}`));
    assert.notDeepEqual(ra.evalProbs, rb.evalProbs, 'different images, different answers in eval mode');
    // With the statistics of one sample the image is gone: identical answers for any image.
    assert.deepEqual(ra.singleProbs, rb.singleProbs);
    close(ra.singleProbs.reduce((s, p) => s + p, 0), 1, 1e-6, 'probabilities sum');
    // Independently: after the last BatchNorm only beta is left, so the answer is the rest of the network applied to beta.
    const layers = model.layers();
    const lastBn = layers.map((m) => m instanceof BatchNorm).lastIndexOf(true);
    let h: Tensor = (layers[lastBn] as BatchNorm).bias!.reshape(1, 20);
    for (const m of layers.slice(lastBn + 1)) h = m.forward(h);
    softmax(h.data).forEach((p, k) => close(ra.singleProbs[k], p, 1e-7, `single-sample prob ${k}`));
    // The sigmoid inputs the histograms show: the outputs of the modules just before each sigmoid.
    const inputs = activationInputs(model, a);
    assert.deepEqual(inputs.map((t) => t.shape), [[1, 20], [1, 20]]);
    assert.deepEqual(Array.from(inputs[0].data), Array.from(layers[1].forward(layers[0].forward(a)).data));
    // The four numbers per channel come from the last BatchNorm's state dict entries.
    const sd = model.stateDict();
    const key = `${lastBn}.`;
    const channels = lastBatchNormChannels(model, 5);
    assert.deepEqual(channels.map((c) => c.channel), [0, 1, 2, 3, 4]);
    channels.forEach((c, k) => {
      assert.equal(c.gamma, sd[`${key}weight`].data[k]);
      assert.equal(c.beta, sd[`${key}bias`].data[k]);
      assert.equal(c.runningMean, sd[`${key}running_mean`].data[k]);
      assert.equal(c.runningVar, sd[`${key}running_var`].data[k]);
    });
    assert.equal(lastBatchNormChannels(model, 500).length, 20);
    assert.deepEqual(lastBatchNormChannels(buildMlp({ hidden: [4], activation: 'sigmoid', bn: 'none', initStd: 0.1, seed: 0 }, 3, 2), 5), []);
  });

  test('the kernels line says the build, threads, shared memory or copies, and why', async () => {
    const wasm = { backend: 'wasm', threads: 2, sharedMemory: true, relaxedSimd: false, crossOriginIsolated: true, limits: [] };
    assert.equal(describeRuntime(wasm), 'wasm SIMD, 2 threads, shared memory');
    assert.equal(describeRuntime({ ...wasm, relaxedSimd: true }), 'wasm relaxed SIMD, 2 threads, shared memory');
    assert.equal(describeRuntime({ ...wasm, threads: 1 }), 'wasm SIMD, 1 thread, shared memory');
    assert.equal(describeRuntime({ ...wasm, threads: 1, sharedMemory: false, crossOriginIsolated: false }),
      'wasm SIMD, 1 thread, copies (page not cross-origin isolated)');
    assert.equal(describeRuntime({ ...wasm, threads: 1, sharedMemory: false }), 'wasm SIMD, 1 thread, copies');
    assert.equal(describeRuntime({ backend: 'ref', threads: 1, sharedMemory: false, relaxedSimd: false, crossOriginIsolated: true, limits: [] }),
      'reference kernels (plain TypeScript), 1 thread');
    // Thread workers refused: the line is read off the runtime's own limit (its words are what it matches).
    const refused = new WasmRuntime({ cores: () => 2, spawn: (_source, _data, failed) => (failed('refused'), { terminate() {} }) });
    refused.setNumThreads(2);
    await refused.ready();
    assert.equal(describeRuntime({ ...wasm, threads: refused.numThreads(), limits: refused.limits() }),
      'wasm SIMD, 1 thread, shared memory (thread workers could not start: a Content-Security-Policy must allow worker-src blob:)');
  });

  test('the MNIST subset served to the page is a valid IDX file holding the first items', () => {
    const labels = parseIdx(readMnistSubset('t10k-labels-idx1-ubyte'), 'labels');
    assert.deepEqual(labels.dims, [2000]);
    assert.deepEqual(Array.from(labels.data.subarray(0, 5)), [7, 2, 1, 0, 4]); // the well-known first test labels
    const images = parseIdx(readMnistSubset('train-images-idx3-ubyte'), 'images');
    assert.deepEqual(images.dims, [10000, 28, 28]);
    const tiny = Uint8Array.from([0, 0, 8, 2, 0, 0, 0, 3, 0, 0, 0, 2, 1, 2, 3, 4, 5, 6]);
    assert.deepEqual(Array.from(sliceIdx(tiny, 2, 'tiny')), [0, 0, 8, 2, 0, 0, 0, 2, 0, 0, 0, 2, 1, 2, 3, 4]);
    assert.throws(() => sliceIdx(tiny, 4, 'tiny'), /tiny: asked for 4 items, the file has 3/);
    assert.throws(() => sliceIdx(Uint8Array.from([1, 2, 3, 4]), 1, 'junk'), /junk: not an unsigned-byte IDX file/);
  });
});

const ARTIFACTS = join(process.cwd(), 'test-artifacts', 'web');
const skipBrowser = hasChromium() ? false : `skipped: no Chromium at ${CHROMIUM} (install it with: apt-get install -y chromium)`;
if (skipBrowser) console.log(`# web lab browser tests ${skipBrowser}`);

/** Each browser test is skipped on its own, so the runner's summary counts them as skipped. */
const browserTest = (name: string, fn: () => Promise<void> | void): void => {
  test(name, { skip: skipBrowser }, fn);
};

describe('web lab in Chromium', () => {
  let work: string;
  let server: Awaited<ReturnType<typeof serveStatic>>;
  let context: BrowserContext;
  let page: Page;
  const problems: string[] = [];
  /** The page's messages from the training worker: 'ready', and 'snapshot' up to step 30. */
  const fromWorker = (): Promise<FromWorker[]> => page.evaluate(() => (window as unknown as { fromWorker: FromWorker[] }).fromWorker);

  before(async () => {
    if (skipBrowser) return;
    work = mkdtempSync(join(tmpdir(), 'batchnorm-web-'));
    mkdirSync(ARTIFACTS, { recursive: true });
    await buildWeb(join(work, 'site'));
    server = await serveStatic(join(work, 'site'));
    context = await launchChromium(join(work, 'profile'));
    page = await context.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`console.${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    // Listen in on the training worker (the only Worker the page itself creates) before the page's scripts run.
    await page.addInitScript(() => {
      const seen: FromWorker[] = [];
      (window as unknown as { fromWorker: FromWorker[] }).fromWorker = seen;
      const Base = window.Worker;
      window.Worker = class extends Base {
        constructor(url: string | URL, options?: WorkerOptions) {
          super(url, options);
          this.addEventListener('message', (e: MessageEvent<FromWorker>) => {
            if (e.data.type === 'ready' || (e.data.type === 'snapshot' && e.data.snapshots[0].step <= 30)) seen.push(e.data);
          });
        }
      };
    });
    page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()}`));
    // Offline means offline: any request off 127.0.0.1 fails the test.
    await page.route((url) => url.hostname !== '127.0.0.1', (route) => {
      problems.push(`network request off the page's server: ${route.request().url()}`);
      return route.abort();
    });
    await page.goto(server.url);
  });

  after(async () => {
    await context?.close();
    await server?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  const cell = (id: string): Promise<string> => page.locator(`[data-cell="${id}"]`).innerText();

  browserTest('worked example shows -1.2247 / 0 / 1.2247 for the classic 3x4 batch', async () => {
    for (let j = 0; j < 4; j++) {
      assert.equal(await cell(`xhat-0-${j}`), '-1.2247');
      assert.equal(await cell(`xhat-1-${j}`), '0.0000');
      assert.equal(await cell(`xhat-2-${j}`), '1.2247');
      assert.equal(await cell(`mean-${j}`), (5 + j).toFixed(4));
    }
    await page.locator('#worked').screenshot({ path: join(ARTIFACTS, 'worked.png') });
  });

  browserTest('worked example updates as you type and slide', async () => {
    await page.getByLabel('sample 1, feature 1', { exact: true }).fill('3');
    const batch = [[3, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12]];
    let h = byHand(batch, [1, 1, 1, 1], [0, 0, 0, 0]);
    assert.equal(await cell('xhat-0-0'), h.xHat[0][0].toFixed(4));
    assert.equal(await cell('xhat-2-0'), h.xHat[2][0].toFixed(4));
    const slide = (label: string, value: number): Promise<void> =>
      page.getByLabel(label, { exact: true }).evaluate((el, v) => {
        (el as HTMLInputElement).value = String(v);
        el.dispatchEvent(new Event('input', { bubbles: true }));
      }, value);
    await slide('gamma of feature 1', 2);
    await slide('beta of feature 1', 0.5);
    h = byHand(batch, [2, 1, 1, 1], [0.5, 0, 0, 0]);
    for (let i = 0; i < 3; i++) assert.equal(await cell(`y-${i}-0`), h.y[i][0].toFixed(4));
    assert.equal(await cell('y-0-1'), '-1.2247', 'the other features keep gamma 1, beta 0');
    await page.getByRole('button', { name: 'Classic 3×4' }).click();
    assert.equal(await cell('y-0-0'), '-1.2247');
    // A batch of one: the library's own error, shown on the page.
    await page.getByRole('button', { name: '− sample' }).click();
    await page.getByRole('button', { name: '− sample' }).click();
    assert.equal(await page.locator('#worked-error').innerText(), 'Expected more than 1 value per channel when training, got input size [1, 4]');
    await page.getByRole('button', { name: '+ feature' }).click();
    await page.getByRole('button', { name: '+ sample' }).click();
    assert.ok(await page.locator('#worked-error').isHidden(), "await page.locator('#worked-error').isHidden()");
    // The new feature holds [0, 1] (the new sample is the last one plus 1): x-hat = +-0.5 / sqrt(0.25 + eps).
    assert.equal(await cell('xhat-0-4'), (-0.5 / Math.sqrt(0.25 + EPS)).toFixed(4));
    assert.equal(await cell('xhat-1-4'), (0.5 / Math.sqrt(0.25 + EPS)).toFixed(4));
    await page.getByRole('button', { name: 'Classic 3×4' }).click();
    assert.equal(await cell('xhat-2-3'), '1.2247');
  });

  browserTest('ravine vs bowl draws contours and both descent paths', async () => {
    for (const id of ['#ravine-raw', '#ravine-norm']) {
      assert.ok((await page.locator(`${id} .mark-shape.role-mark path`).count()) >= 5, `${id}: contour shapes`);
      assert.ok((await page.locator(`${id} .mark-symbol.role-mark path`).count()) >= 10, `${id}: path points`);
    }
    await page.getByRole('button', { name: 'Step' }).click();
    assert.match(await page.locator('#ravine-count').innerText(), /^step 31 \/ 150$/);
    // The text's "about N× steeper" is the raw panel's computed steepness ratio (90.8 for this data).
    const ratio = /steepness ratio ([\d.]+)/.exec(await page.locator('#ravine-raw-caption').innerText())![1];
    assert.equal(await page.locator('#ravine-steepness').innerText(), Number(ratio).toFixed(0));
    await page.locator('#ravine').screenshot({ path: join(ARTIFACTS, 'ravine.png') });
    // lr 0.5: far past the ravine's limit (~0.009), well inside the bowl's (~0.9).
    await page.locator('#ravine-lr').evaluate((el) => {
      (el as HTMLInputElement).value = String(Math.log10(0.5));
      el.dispatchEvent(new Event('input', { bubbles: true }));
    });
    assert.equal(await page.locator('#ravine-lr-value').innerText(), '0.5');
    assert.match(await page.locator('#ravine-raw-caption').innerText(), /· diverged$/);
    const bowl = /· loss ([\d.e+-]+)$/.exec(await page.locator('#ravine-norm-caption').innerText());
    assert.ok(bowl && Number(bowl[1]) < 0.2, `normalised features at lr 0.5: ${bowl?.[0]}`);
  });

  browserTest('training runs in the worker and the accuracy curve gets points', async () => {
    await page.locator('#drift-start:not([disabled])').click({ timeout: 30_000 });
    // Step 0 is evaluated at once; then steps 10, 20, ... A few seconds of training.
    await page.waitForFunction(() => Number(document.getElementById('drift')!.dataset.points) >= 4, null, { timeout: 60_000 });
    await page.waitForTimeout(3000);
    await page.getByRole('button', { name: 'Pause' }).click();
    await page.waitForFunction(() => document.getElementById('drift-start')!.textContent === 'Start');
    const step = Number(await page.locator('#drift').getAttribute('data-step'));
    assert.ok(step >= 30, `trained ${step} steps`);
    // Two runs, one dot per evaluation each.
    const dots = await page.locator('#drift-accuracy .mark-symbol.role-mark path').count();
    assert.ok(dots >= 8, `accuracy curve dots: ${dots}`);
    assert.match(await page.locator('#drift-status').innerText(), /^step \d+ · [\d.]+ steps\/s · (wasm relaxed SIMD|wasm SIMD|reference kernels \(plain TypeScript\)), \d+ threads?/);
    await page.locator('#drift').screenshot({ path: join(ARTIFACTS, 'drift.png') });
  });

  browserTest('the page is cross-origin isolated: training runs on wasm SIMD threads over shared memory', async () => {
    assert.equal(await page.evaluate(() => crossOriginIsolated), true);
    const ready = (await fromWorker()).filter((m) => m.type === 'ready');
    assert.equal(ready.length, 1);
    // The runtime's default: every core, at most 8 (2 on the project's machine).
    const cores = await page.evaluate(() => navigator.hardwareConcurrency);
    const threads = Math.min(8, cores);
    // Chromium has relaxed SIMD (since 114), so the worker runs the fused multiply-add build.
    assert.deepEqual(ready[0].runtime, { backend: 'wasm', threads, sharedMemory: true, relaxedSimd: true, crossOriginIsolated: true, limits: [] });
    // A page's main thread may not block on workers, so the runtime gives it one thread (browserPlatform).
    const worker = describeRuntime(ready[0].runtime);
    assert.equal(await page.locator('#runtime').innerText(),
      `Kernels: this page wasm relaxed SIMD, 1 thread, shared memory; training worker ${worker}.`);
    assert.ok((await page.locator('#drift-status').innerText()).endsWith(` · ${worker}`), "(await page.locator('#drift-status').innerText()).endsWith(` \u00b7 ${worker}`)");
    // The wasm runtime's threads are Web Workers the training worker starts from blob: URLs; COEP
    // require-corp lets them start (they inherit the page's policy). One per thread past the first.
    const nested = page.workers().filter((w) => w.url().startsWith('blob:'));
    assert.equal(nested.length, threads - 1, `blob: workers: ${nested.map((w) => w.url()).join(', ')}`);
  });

  browserTest('served without the two headers, the page works on one thread with copies, and says so', async () => {
    const plain = await serveStatic(join(work, 'site'), { isolated: false });
    const other = await context.newPage();
    const errors: string[] = [];
    other.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') errors.push(`console.${m.type()}: ${m.text()}`);
    });
    other.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
    try {
      await other.goto(plain.url);
      await other.locator('#drift-start:not([disabled])').waitFor({ timeout: 30_000 });
      assert.equal(await other.evaluate(() => crossOriginIsolated), false);
      const copies = 'wasm relaxed SIMD, 1 thread, copies (page not cross-origin isolated)';
      assert.equal(await other.locator('#runtime').innerText(), `Kernels: this page ${copies}; training worker ${copies}.`);
      assert.equal(await other.locator('[data-cell="xhat-2-3"]').innerText(), '1.2247');
      assert.deepEqual(errors, []);
    } finally {
      await other.close();
      await plain.close();
    }
  });

  browserTest('a Content-Security-Policy that refuses blob: workers: the training worker trains on one thread, and the page says why', async () => {
    // Chromium refuses such a worker by an error event after `new Worker` returned: before the
    // runtime listened for it (and the lab waited for ready()), the page said "2 threads".
    const csp = await serveStatic(join(work, 'site'), { headers: { 'Content-Security-Policy': "worker-src 'self'" } });
    const other = await context.newPage();
    const pageErrors: string[] = [];
    other.on('pageerror', (e) => pageErrors.push(e.message));
    try {
      await other.goto(csp.url);
      await other.locator('#drift-start:not([disabled])').waitFor({ timeout: 30_000 });
      const cores = await other.evaluate(() => navigator.hardwareConcurrency);
      assert.ok(cores >= 2, `the machine has ${cores} cores: nothing to refuse on one`);
      assert.equal(await other.locator('#runtime').innerText(), 'Kernels: this page wasm relaxed SIMD, 1 thread, shared memory; training worker wasm '
        + 'relaxed SIMD, 1 thread, shared memory (thread workers could not start: a Content-Security-Policy must allow worker-src blob:).');
      // Known from the refusal itself (the error event), not from ready() giving up on a silent worker.
      const info = JSON.parse((await other.locator('#runtime').getAttribute('data-worker'))!) as { limits: string[] };
      assert.match(info.limits.at(-1) ?? '', /^thread workers could not start \(the worker was refused or failed to load: see the console\)/);
      await other.locator('#drift-start').click();
      await other.waitForFunction(() => Number(document.getElementById('drift')!.dataset.step) >= 20, null, { timeout: 60_000 });
      await other.locator('#drift-start').click();
      assert.deepEqual(pageErrors, []);
    } finally {
      await other.close();
      await csp.close();
    }
  });

  /**
   * The first run of `lab` in the worker (up to its next reset; evaluations up to step 30) beside
   * the same runs trained in Node on as many threads.
   */
  async function replayInNode(lab: LabName, configs: { run: RunName; config: MlpConfig }[]): Promise<{ browser: RunSnapshot[]; node: RunSnapshot[] }> {
    const messages = await fromWorker();
    const threads = (messages.find((m) => m.type === 'ready') as Extract<FromWorker, { type: 'ready' }>).runtime.threads;
    const browser: RunSnapshot[] = [];
    for (const m of messages) {
      if (m.type !== 'snapshot' || m.lab !== lab) continue;
      if (m.snapshots[0].step === 0 && browser.length > 0) break;
      browser.push(...m.snapshots);
    }
    const split = (images: string, labels: string) =>
      toImageSet(parseIdx(readMnistSubset(images), images), parseIdx(readMnistSubset(labels), labels), { images, labels });
    const data: MlpData = {
      train: split('train-images-idx3-ubyte', 'train-labels-idx1-ubyte'),
      test: split('t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'),
    };
    const before = getNumThreads();
    setNumThreads(threads);
    try {
      const runs = configs.map(({ run, config }) => ({ run, trainer: createMlpTrainer(config, data), looksSent: 0 }));
      const node: RunSnapshot[] = [];
      for (let step = 0; step <= 30; step++) {
        if (step > 0) for (const { trainer } of runs) trainer.step();
        if (step === 0 || shouldEvaluate(step)) {
          for (const r of runs) {
            const { point, percentiles } = r.trainer.evaluate();
            const looks = r.trainer.landscape.slice(r.looksSent);
            r.looksSent = r.trainer.landscape.length;
            node.push({ run: r.run, step, accuracy: point, percentiles, histograms: [], looks, diverged: null });
          }
        }
      }
      return { browser, node };
    } finally {
      setNumThreads(before);
    }
  }

  browserTest('training in the worker gives the numbers Node gives on as many threads (steps 0 to 30)', async () => {
    // The drift lab's first run (default settings: lr 0.5, BN before the sigmoid).
    const { browser, node } = await replayInNode('drift', driftConfigs(0.5, 'before'));
    assert.deepEqual(browser.map((s) => `${s.run}@${s.step}`), [0, 10, 20, 30].flatMap((k) => [`plain@${k}`, `bn@${k}`]));
    // The same wasm kernels on the same data: the same bits in Chromium's worker as in Node, not just close.
    const pick = ({ run, accuracy, percentiles }: RunSnapshot) => ({ run, accuracy, percentiles });
    assert.deepEqual(browser.map(pick), node.map(pick));
  });

  browserTest('one image in eval mode gets a digit; batch statistics of one ignore the image', async () => {
    const digit = page.locator('#pred-eval [data-testid="digit"]');
    await digit.waitFor({ timeout: 30_000 });
    assert.match(await digit.innerText(), /^[0-9]$/);
    assert.match(await page.locator('#pred-eval').innerText(), /true label 7/); // test image 0 is a 7
    assert.match(await page.locator('#train-error').innerText(), /Expected more than 1 value per channel when training/);
    const another = async (index: number): Promise<void> => {
      await page.getByRole('button', { name: 'Another image' }).click();
      await page.waitForFunction((i) => document.getElementById('inference')!.dataset.classified === String(i), index);
    };
    await another(1);
    assert.match(await page.locator('#pred-eval').innerText(), /true label 2/); // test image 1 is a 2
    const single = await page.locator('#pred-single').innerText();
    assert.equal(await page.locator('#channels .mark-rect.role-mark path').count(), 4 * 20, 'gamma, beta, running mean, running var of 20 channels');
    await another(2);
    assert.match(await page.locator('#pred-eval').innerText(), /true label 1/); // test image 2 is a 1
    assert.equal(await page.locator('#pred-single').innerText(), single, 'training is paused: same network, same answer for any image');
    await page.locator('#inference').screenshot({ path: join(ARTIFACTS, 'inference.png') });
  });

  browserTest('reset starts both networks over; BN placement after the sigmoid trains too', async () => {
    await page.selectOption('#drift-placement', 'after');
    await page.waitForFunction(() => document.getElementById('drift')!.dataset.step === '0' && document.getElementById('drift')!.dataset.points === '1');
    await page.locator('#drift-start').click();
    await page.waitForFunction(() => Number(document.getElementById('drift')!.dataset.points) >= 3, null, { timeout: 60_000 });
    await page.locator('#drift-reset').click();
    await page.waitForFunction(() => document.getElementById('drift-start')!.textContent === 'Start');
    assert.equal(await page.locator('#drift').getAttribute('data-step'), '0');
    // data-points counts the evaluations drawn, and the charts redraw at most every 250 ms.
    await page.waitForFunction(() => document.getElementById('drift')!.dataset.points === '1', null, { timeout: 5000 });
    // One step-0 point per run once the chart has re-rendered (vega renders asynchronously).
    await page.waitForFunction(() => document.querySelectorAll('#drift-accuracy .mark-symbol.role-mark path').length === 2, null, { timeout: 5000 });
    await page.selectOption('#drift-placement', 'before');
  });

  browserTest('section 5 trains three networks, looks at the landscape every 50 steps and sums it up', async () => {
    await page.locator('#santurkar-start:not([disabled])').click({ timeout: 30_000 });
    // Looks at steps 0 and 50 for each run: the one at 50 arrives with the evaluation at step 75.
    await page.waitForFunction(() => Number(document.getElementById('santurkar')!.dataset.looks) >= 6, null, { timeout: 90_000 });
    await page.locator('#santurkar-start').click();
    await page.waitForFunction(() => document.getElementById('santurkar-start')!.textContent === 'Start');
    assert.match(await page.locator('#santurkar-status').innerText(), /^step \d+ · [\d.]+ steps\/s · /);
    const points = Number(await page.locator('#santurkar').getAttribute('data-points'));
    assert.ok(points >= 7, `evaluations per run: ${points}`); // steps 0, 10, 20, 30, 40, 50, 75, ...
    assert.equal(await page.locator('#santurkar-accuracy .mark-symbol.role-mark path').count(), 3 * points, 'one dot per run and evaluation');
    // A band per run in each landscape chart.
    for (const id of ['#santurkar-loss', '#santurkar-grad']) assert.equal(await page.locator(`${id} .mark-area.role-mark path`).count(), 3, id);
    // Cells read from the DOM, not innerText: innerText of a row that has no layout box at that moment
    // is its text content, cells run together (CI saw 'without BN8.5%0.1520.4361.808' once).
    const rows = await page.locator('#santurkar-summary tbody tr').evaluateAll((trs) =>
      trs.map((tr) => [...(tr as HTMLTableRowElement).cells].map((c) => (c.textContent ?? '').trim())));
    assert.deepEqual(rows.map((r) => r[0]), ['without BN', 'with BN', 'noisy BN']);
    for (const r of rows) {
      const [, acc, ...numbers] = r;
      assert.match(acc ?? '', /^\d+\.\d%$/, r.join(' | '));
      assert.equal(numbers.length, 3, `summary row ${r.join(' | ')}`);
      for (const x of numbers) assert.ok(Number(x) > 0, `summary row ${r.join(' | ')}`);
    }
    // The section starts over on a new noise strength.
    await page.selectOption('#santurkar-noise', '0.5');
    await page.waitForFunction(() => document.getElementById('santurkar')!.dataset.step === '0' && document.getElementById('santurkar')!.dataset.points === '1');
    assert.equal(await page.locator('#santurkar').getAttribute('data-looks'), '0');
    await page.locator('#santurkar').screenshot({ path: join(ARTIFACTS, 'santurkar.png') });
  });

  browserTest('section 5 in the worker gives the numbers Node gives: noisy BN and the looks at step 0 included', async () => {
    const { browser, node } = await replayInNode('santurkar', santurkarConfigs(0.5, 1));
    assert.deepEqual(browser.map((s) => `${s.run}@${s.step}`), [0, 10, 20, 30].flatMap((k) => [`plain@${k}`, `bn@${k}`, `noisy@${k}`]));
    const pick = ({ run, accuracy, percentiles, looks }: RunSnapshot) => ({ run, accuracy, percentiles, looks });
    assert.deepEqual(browser.map(pick), node.map(pick));
    // Each run's look at step 0 came with the step-10 evaluation; the noisy network's differs from BN's (same weights, noise).
    const looks = browser.filter((s) => s.step === 10).map((s) => s.looks);
    assert.deepEqual(looks.map((l) => l.map((x) => x.step)), [[0], [0], [0]]);
    assert.notEqual(looks[1][0].loss, looks[2][0].loss);
  });

  browserTest('running statistics follow the momentum slider and the cumulative option', async () => {
    await page.locator('#rs-cumulative').check();
    assert.equal(await page.locator('#rs-momentum-value').innerText(), 'None (1/steps)');
    assert.ok(await page.locator('#rs-momentum').isDisabled(), "await page.locator('#rs-momentum').isDisabled()");
    assert.ok((await page.locator('#rs-mean .mark-line.role-mark path').count()) >= 1, "(await page.locator('#rs-mean .mark-line.role-mark path').count()) >= 1");
    await page.locator('#rs-cumulative').uncheck();
  });

  /** The plotted width (x axis) of every SVG chart with an x axis, by its element's id. */
  const plottedWidths = (): Promise<Record<string, number>> => page.evaluate(() => Object.fromEntries(
    [...document.querySelectorAll('.plot')].flatMap((el, k) => {
      const axis = el.querySelector('[aria-label^="X-axis"] .role-axis-domain line');
      return axis ? [[el.id || `${el.parentElement!.id}-${k}`, Math.round(axis.getBoundingClientRect().width)]] : [];
    })));

  browserTest('a phone-width screen shows every section without sideways scrolling, every chart with room to plot', async () => {
    // A chart whose title was wider than its plot lost width at every redraw (vega-lite's autosize
    // fit-x), down to nothing. Section 5 trains a little at 700 px (two charts per row, ~300 px
    // each) and at 390 px (one per row), redrawing at each evaluation; every x axis keeps its room.
    for (const [width, looks] of [[700, 6], [390, 12]]) {
      await page.setViewportSize({ width, height: 844 });
      await page.locator('#santurkar-start').click();
      await page.waitForFunction((n) => Number(document.getElementById('santurkar')!.dataset.looks) >= n, looks, { timeout: 60_000 });
      await page.locator('#santurkar-start').click();
      await page.waitForFunction(() => document.getElementById('santurkar-start')!.textContent === 'Start');
      await page.waitForTimeout(500);
      const widths = await plottedWidths();
      assert.ok(Object.keys(widths).length >= 12, JSON.stringify(widths));
      for (const [id, w] of Object.entries(widths)) assert.ok(w > 100, `${width}-px screen: ${id} is plotted ${w} px wide`);
    }
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(overflow <= 0, `page is ${overflow}px wider than the screen`);
    // Random values in the worked example (-40.9 and the like) show whole in their inputs, and neither
    // that table nor section 5's summary scrolls sideways inside its box.
    await page.getByRole('button', { name: 'Random' }).click();
    const cut = await page.evaluate(() => [...document.querySelectorAll<HTMLInputElement>('#worked-table input[type="number"]')]
      .filter((input) => input.scrollWidth > input.clientWidth).map((input) => input.value));
    assert.deepEqual(cut, [], 'numbers cut off in their inputs');
    const inner = await page.evaluate(() => [...document.querySelectorAll('.scroll')].map((box) => box.scrollWidth - box.clientWidth));
    assert.deepEqual(inner, [0, 0], 'worked example table, section 5 summary: sideways scrolling inside the box (px)');
    for (const id of ['worked', 'ravine', 'drift', 'inference', 'santurkar']) {
      await page.locator(`#${id}`).screenshot({ path: join(ARTIFACTS, `phone-${id}.png`) });
    }
  });

  browserTest('no console errors or warnings, no failed or off-site requests', () => {
    assert.deepEqual(problems, []);
  });
});
