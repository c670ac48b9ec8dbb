/**
 * The MNIST experiment of Ioffe & Szegedy (2015), section 4.1 and Figure 1: a 784-100-100-100-10
 * network of sigmoid units, trained with and without Batch Normalization on mini-batches of 60,
 * tracking test accuracy and the distribution of the input to one sigmoid of the last hidden
 * layer. The experiment is data: a config, `createMlpTrainer(config, data)` for step-by-step
 * control (the web lab drives it from a worker), and `run(config, data, hooks)` built on it.
 * No Node imports: the data comes in as arrays.
 */
import { noGrad } from '../autograd/tape.js';
import type { ImageSet } from '../data/idx.js';
import { BatchSampler, gatherBatch } from '../data/batches.js';
import { Sigmoid, ReLU, Tanh } from '../nn/activation.js';
import { BatchNorm1d } from '../nn/batchnorm.js';
import { Linear } from '../nn/linear.js';
import type { Module } from '../nn/module.js';
import { Sequential } from '../nn/sequential.js';
import { Adam } from '../optim/adam.js';
import type { Optimizer } from '../optim/optimizer.js';
import { SGD } from '../optim/sgd.js';
import { RNG } from '../random.js';
import { allocate, Tensor } from '../tensor/tensor.js';
import { tidy } from '../tensor/tidy.js';
import { evaluateClassifier, trainStep } from './classifier.js';
import { ActivationNoise, probeLandscape, type LandscapePoint } from './santurkar.js';

/** Where BatchNorm goes in each hidden layer: nowhere, before the nonlinearity (the paper), or after it. */
export type BnPlacement = 'none' | 'before' | 'after';

export interface MlpConfig {
  /** A label for the run ('without BN', 'with BN', ...). */
  name: string;
  /** Training steps (mini-batches). The paper trains 50,000. */
  steps: number;
  /** Samples per mini-batch (the paper: 60). */
  batchSize: number;
  /** Evaluate test accuracy and the percentiles every this many steps (and at step 0 and the end). */
  evalEvery: number;
  /** Seeds the initial weights and the batch order (each from its own generator). */
  seed: number;
  /** 'sgd' (with `momentum`) or 'adam'. Not given in the paper. */
  optimizer: 'sgd' | 'adam';
  /** Learning rate. Not given in the paper. */
  lr: number;
  /** SGD momentum (0: plain SGD). */
  momentum: number;
  /** Standard deviation of the Gaussian initial weights ("small random Gaussian values"); biases start at 0. */
  initStd: number;
  /** Hidden layer widths (the paper: [100, 100, 100]). */
  hidden: number[];
  /** The nonlinearity (the paper: sigmoid). */
  activation: 'sigmoid' | 'relu' | 'tanh';
  /** BatchNorm placement in each hidden layer. */
  bn: BnPlacement;
  /** The dataset's name, recorded with the results (the data itself comes in as arrays). */
  dataset: string;
  /** Which unit of the last hidden layer the percentiles follow. */
  percentileUnit: number;
  /** Size of the fixed held-out batch (the first test images) the percentiles are measured on. */
  percentileBatch: number;
  /** Test images used for accuracy (default all). */
  evalLimit?: number | undefined;
  /**
   * Santurkar et al.'s "noisy BatchNorm": the strength of the changing noise injected right
   * after each BatchNorm layer in training (see `ActivationNoise`; absent or 0: none).
   */
  noise?: number | undefined;
  /**
   * Look at the loss landscape every `every` steps (Santurkar et al., Figure 4): step sizes
   * `lrMultiples * lr` along the gradient of the step's own batch (see `probeLandscape`).
   */
  landscape?: { every: number; lrMultiples: number[] } | undefined;
}

/**
 * The defaults: the paper's network and batch size; plain SGD at lr 0.5 from N(0, 0.01^2)
 * weights (our choices, the paper gives none) and BN before the sigmoid. With weights this
 * small the plain network's signals and gradients start tiny and it sits on a plateau for a few
 * thousand steps (a property of this init: from N(0, 0.1^2) it has none); BN rescales them and
 * trains at once.
 */
export const defaultMlpConfig: MlpConfig = {
  name: 'with BN',
  steps: 50000,
  batchSize: 60,
  evalEvery: 500,
  seed: 0,
  optimizer: 'sgd',
  lr: 0.5,
  momentum: 0,
  initStd: 0.01,
  hidden: [100, 100, 100],
  activation: 'sigmoid',
  bn: 'before',
  dataset: 'mnist',
  percentileUnit: 0,
  percentileBatch: 1000,
};

/** The data an experiment trains and tests on (see `loadMnist`, or `parseIdx` + `toImageSet` in a browser). */
export interface MlpData {
  train: ImageSet;
  test: ImageSet;
}

/** One evaluation. `loss` is the test cross-entropy; `trainLoss` the mean training loss since the previous evaluation. */
export interface CurvePoint {
  step: number;
  testAccuracy: number;
  loss: number;
  trainLoss: number | null;
}

/** The 15th, 50th and 85th percentiles of the input to the tracked sigmoid (Figure 1 b/c). */
export interface PercentilePoint {
  step: number;
  p15: number;
  p50: number;
  p85: number;
}

/** A run that blew up: recorded, never thrown. */
export interface Divergence {
  step: number;
  reason: string;
}

export interface MlpMetrics {
  name: string;
  config: MlpConfig;
  curve: CurvePoint[];
  percentiles: PercentilePoint[];
  /** Null when training stayed finite throughout. */
  diverged: Divergence | null;
  /** The looks at the loss landscape (empty unless `config.landscape` asks for them). */
  landscape: LandscapePoint[];
  /** Steps actually trained (less than `config.steps` after a divergence). */
  stepsDone: number;
  /** Training speed (evaluation excluded), over every step of the run, resumed or not. */
  stepsPerSecond: number;
}

export interface MlpHooks {
  /** After every training step, with the batch's loss. */
  onStep?(step: number, loss: number): void;
  /** After every evaluation. */
  onEval?(point: CurvePoint, percentiles: PercentilePoint): void;
}

/** The network: [Linear, (BN), act, (BN)] per hidden layer, then Linear to 10 classes; PyTorch's Sequential keys. */
export function buildMlp(config: Pick<MlpConfig, 'hidden' | 'activation' | 'bn' | 'initStd' | 'seed' | 'noise'>, inputs = 784, classes = 10): Sequential {
  const rng = new RNG(config.seed);
  const layers: Module[] = [];
  let width = inputs;
  const act = (): Module => (config.activation === 'relu' ? new ReLU() : config.activation === 'tanh' ? new Tanh() : new Sigmoid());
  // Noisy BatchNorm: the noise follows each BatchNorm layer.
  const bn = (h: number, layer: number): Module[] => [new BatchNorm1d(h), ...(config.noise ? [new ActivationNoise(config.noise, config.seed, layer)] : [])];
  for (const [i, h] of config.hidden.entries()) {
    layers.push(new Linear(width, h, { rng }));
    if (config.bn === 'before') layers.push(...bn(h, i));
    layers.push(act());
    if (config.bn === 'after') layers.push(...bn(h, i));
    width = h;
  }
  layers.push(new Linear(width, classes, { rng }));
  // "Small random Gaussian values": every weight from N(0, initStd^2), biases 0, in layer order,
  // so runs with and without BN start from the same weights.
  for (const m of layers) {
    if (m instanceof Linear) {
      for (let i = 0; i < m.weight.size; i++) m.weight.data[i] = config.initStd * rng.normal();
      m.bias?.data.fill(0);
    }
  }
  return new Sequential(...layers);
}

/** The linear-interpolation percentile of sorted values (numpy's default), q in [0, 100]. */
export function percentile(sorted: ArrayLike<number>, q: number): number {
  const pos = ((sorted.length - 1) * q) / 100;
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/** What a trainer carries across a stop and a `--resume`, besides the model and optimizer tensors. */
export interface MlpProgress {
  stepsDone: number;
  /** Seconds spent in training steps so far (evaluation excluded). */
  trainSeconds: number;
  curve: CurvePoint[];
  percentiles: PercentilePoint[];
  diverged: Divergence | null;
  /** Absent in checkpoints from before the landscape looks existed. */
  landscape?: LandscapePoint[];
}

/**
 * Checks a progress record (from a checkpoint's metadata: JSON that may be corrupt or hand-edited)
 * before a trainer continues from it: `stepsDone` an integer in 0..steps (replaying the batch
 * order costs a step's worth of shuffling per step, so 1e12 would never finish), the curves
 * arrays of points with integer steps no later than `stepsDone`, `diverged` null or
 * `{ step, reason }`. Returns it typed; throws an error naming `source` and the field otherwise.
 */
export function checkProgress(progress: unknown, steps: number, source = 'resume'): MlpProgress {
  const fail = (what: string): never => {
    throw new TypeError(`${source}: ${what}`);
  };
  const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
  if (!isObject(progress)) fail(`expected an object such as {"stepsDone":100,...} (got ${JSON.stringify(progress) ?? typeof progress})`);
  const p = progress as Record<string, unknown>;
  const { stepsDone } = p;
  if (!Number.isSafeInteger(stepsDone) || (stepsDone as number) < 0 || (stepsDone as number) > steps) {
    fail(`stepsDone must be an integer in 0..${steps}, the run's steps (got ${JSON.stringify(stepsDone) ?? 'nothing'})`);
  }
  if (p.trainSeconds !== undefined && !(typeof p.trainSeconds === 'number' && p.trainSeconds >= 0 && Number.isFinite(p.trainSeconds))) {
    fail(`trainSeconds must be a non-negative number (got ${JSON.stringify(p.trainSeconds)})`);
  }
  const atStep = (v: unknown): boolean => Number.isSafeInteger(v) && (v as number) >= 0 && (v as number) <= (stepsDone as number);
  for (const key of ['curve', 'percentiles', 'landscape']) {
    const points = p[key];
    if (key === 'landscape' && points === undefined) continue;
    if (!Array.isArray(points)) fail(`${key} must be an array of points (got ${JSON.stringify(points) ?? 'nothing'})`);
    const i = (points as unknown[]).findIndex((pt) => !isObject(pt) || !atStep(pt.step));
    if (i >= 0) fail(`${key}[${i}] must be a point whose step is an integer in 0..${stepsDone} (got ${JSON.stringify((points as unknown[])[i])})`);
  }
  const d = p.diverged;
  if (d !== null && !(isObject(d) && atStep(d.step) && typeof d.reason === 'string')) {
    fail(`diverged must be null or {"step": <integer in 0..${stepsDone}>, "reason": "..."} (got ${JSON.stringify(d) ?? 'nothing'})`);
  }
  return progress as MlpProgress;
}

/** A training run under the caller's control: `step()` and `evaluate()` as often as it likes. */
export interface MlpTrainer {
  readonly config: MlpConfig;
  readonly model: Sequential;
  readonly optimizer: Optimizer;
  /** Steps trained so far. */
  readonly stepsDone: number;
  /** Set when the loss stopped being finite; `step()` then does nothing. */
  readonly diverged: Divergence | null;
  readonly curve: CurvePoint[];
  readonly percentiles: PercentilePoint[];
  readonly landscape: LandscapePoint[];
  /** One training step on the next mini-batch; returns its loss (NaN once diverged). */
  step(): number;
  /** Test accuracy and loss, and the percentiles on the held-out batch; appended to the curves. */
  evaluate(): { point: CurvePoint; percentiles: PercentilePoint };
  /** The state to save with a checkpoint. */
  progress(): MlpProgress;
}

export interface TrainerOptions {
  /** Continue a stopped run: the model and optimizer must already hold the saved state (see checkpoints). */
  resume?: MlpProgress | undefined;
}

function checkConfig(c: MlpConfig, data: MlpData): void {
  const positive = (k: keyof MlpConfig): void => {
    const v = c[k] as number;
    if (!Number.isInteger(v) || v <= 0) throw new RangeError(`${k} must be a positive integer (got ${v})`);
  };
  positive('steps');
  positive('batchSize');
  positive('evalEvery');
  positive('percentileBatch');
  if (!(c.lr > 0 && Number.isFinite(c.lr))) throw new RangeError(`lr must be a positive number (got ${c.lr})`);
  if (!(c.initStd > 0 && Number.isFinite(c.initStd))) throw new RangeError(`initStd must be a positive number (got ${c.initStd})`);
  if (!['none', 'before', 'after'].includes(c.bn)) throw new RangeError(`bn must be 'none', 'before' or 'after' (got '${c.bn}')`);
  if (!['sgd', 'adam'].includes(c.optimizer)) throw new RangeError(`optimizer must be 'sgd' or 'adam' (got '${c.optimizer}')`);
  if (c.hidden.length === 0) throw new RangeError('hidden must list at least one layer width');
  const last = c.hidden[c.hidden.length - 1];
  if (!(c.percentileUnit >= 0 && c.percentileUnit < last)) {
    throw new RangeError(`percentileUnit must be in 0..${last - 1} (got ${c.percentileUnit})`);
  }
  if (c.noise !== undefined && c.noise !== 0) {
    if (!(c.noise > 0 && c.noise < 2)) throw new RangeError(`noise must be in (0, 2) (got ${c.noise})`);
    if (c.bn === 'none') throw new RangeError("noise is injected after BatchNorm layers: bn must be 'before' or 'after' (got 'none')");
  }
  if (c.landscape) {
    if (!Number.isInteger(c.landscape.every) || c.landscape.every <= 0) throw new RangeError(`landscape.every must be a positive integer (got ${c.landscape.every})`);
    if (c.landscape.lrMultiples.length === 0 || !c.landscape.lrMultiples.every((m) => m > 0 && Number.isFinite(m))) {
      throw new RangeError(`landscape.lrMultiples must be positive numbers (got [${c.landscape.lrMultiples.join(', ')}])`);
    }
  }
  if (data.train.n < c.batchSize) throw new RangeError(`the training set (${data.train.n}) is smaller than a batch (${c.batchSize})`);
  if (data.test.n === 0) throw new RangeError('the test set is empty');
}

/**
 * A trainer for one run. Weights come from `RNG(seed)`, the batch order from a second generator
 * derived from the seed, so two configs differing only in `bn` start from the same weights and
 * see the same batches.
 * @example
 * const t = createMlpTrainer({ ...defaultMlpConfig, steps: 1000 }, loadMnist());
 * while (t.stepsDone < 1000) { t.step(); if (t.stepsDone % 100 === 0) t.evaluate(); }
 */
export function createMlpTrainer(config: MlpConfig, data: MlpData, options: TrainerOptions = {}): MlpTrainer {
  checkConfig(config, data);
  const { train, test } = data;
  const pixels = train.height * train.width;
  const model = buildMlp(config, pixels);
  const optimizer: Optimizer =
    config.optimizer === 'adam'
      ? new Adam(model.parameters(), { lr: config.lr })
      : new SGD(model.parameters(), { lr: config.lr, momentum: config.momentum });
  const sampler = new BatchSampler(train.n, config.batchSize, new RNG((config.seed ^ 0x5bd1e995) >>> 0));
  const xBuf = allocate('float32', config.batchSize * pixels) as Float32Array; // in wasm memory: no copy per step
  const yBuf = new Int32Array(config.batchSize);
  const x = new Tensor(xBuf, [config.batchSize, pixels]);

  // The tracked sigmoid's input is the output of the module just before the last activation.
  const layers = model.layers();
  let lastAct = -1;
  layers.forEach((m, i) => {
    if (m instanceof Sigmoid || m instanceof ReLU || m instanceof Tanh) lastAct = i;
  });
  const heldOut = Math.min(config.percentileBatch, test.n);
  const heldOutX = new Tensor(test.images.subarray(0, heldOut * pixels), [heldOut, pixels]);
  const evalN = Math.min(config.evalLimit ?? test.n, test.n);
  const noise = layers.filter((m): m is ActivationNoise => m instanceof ActivationNoise);

  if (options.resume) checkProgress(options.resume, config.steps);
  const state: MlpProgress = options.resume
    ? { ...structuredClone(options.resume), trainSeconds: options.resume.trainSeconds ?? 0 }
    : { stepsDone: 0, trainSeconds: 0, curve: [], percentiles: [], diverged: null };
  state.landscape ??= [];
  const landscape = state.landscape;
  sampler.skip(state.stepsDone); // replay the batch order up to where the run stopped
  let lossSum = 0;
  let lossCount = 0;

  const step = (): number => {
    if (state.diverged) return NaN;
    gatherBatch(train, sampler.next(), xBuf, yBuf);
    for (const n of noise) n.setStep(state.stepsDone);
    if (config.landscape && state.stepsDone % config.landscape.every === 0) {
      model.train();
      const look = probeLandscape(model, x, yBuf, config.landscape.lrMultiples.map((m) => m * config.lr));
      if (landscape.at(-1)?.step === state.stepsDone) landscape.pop(); // a resumed run looks again
      landscape.push({ step: state.stepsDone, ...look });
    }
    const t0 = performance.now();
    const value = trainStep(model, optimizer, x, yBuf);
    state.stepsDone++;
    if (!Number.isFinite(value)) {
      state.diverged = { step: state.stepsDone, reason: `training loss became ${value}` };
      return value;
    }
    state.trainSeconds += (performance.now() - t0) / 1000;
    lossSum += value;
    lossCount++;
    return value;
  };

  const evaluate = (): { point: CurvePoint; percentiles: PercentilePoint } => {
    const { accuracy, loss } = evaluateClassifier(model, test, evalN, [pixels], 1000);
    const values = tidy(() => noGrad(() => { // still in evaluation mode
      // With noisy BatchNorm, the sigmoid sees noise in training: measure with a draw of it.
      const rng = new RNG((config.seed ^ 0x2545f491 ^ state.stepsDone) >>> 0);
      let h = heldOutX;
      for (let i = 0; i < lastAct; i++) {
        const m = layers[i];
        h = m instanceof ActivationNoise ? m.perturb(h, rng) : m.forward(h);
      }
      const width = h.shape[1];
      const v = new Float64Array(heldOut);
      for (let i = 0; i < heldOut; i++) v[i] = h.data[i * width + config.percentileUnit];
      return v.sort();
    }));
    model.train();
    const point: CurvePoint = {
      step: state.stepsDone,
      testAccuracy: accuracy,
      loss,
      trainLoss: lossCount > 0 ? lossSum / lossCount : null,
    };
    const pct: PercentilePoint = { step: state.stepsDone, p15: percentile(values, 15), p50: percentile(values, 50), p85: percentile(values, 85) };
    lossSum = 0;
    lossCount = 0;
    // Evaluating twice at one step (e.g. at the end, after a resume) replaces the point.
    if (state.curve.at(-1)?.step === point.step) {
      state.curve.pop();
      state.percentiles.pop();
    }
    state.curve.push(point);
    state.percentiles.push(pct);
    return { point, percentiles: pct };
  };

  return {
    config,
    model,
    optimizer,
    get stepsDone() { return state.stepsDone; },
    get diverged() { return state.diverged; },
    get curve() { return state.curve; },
    get percentiles() { return state.percentiles; },
    get landscape() { return landscape; },
    step,
    evaluate,
    progress: () => structuredClone(state),
  };
}

/**
 * Trains one run from its config to `config.steps` (or to a divergence, which is recorded, not
 * thrown), evaluating at step 0, every `evalEvery` steps and at the end.
 * `trainer` lets a caller continue a prepared (e.g. resumed) trainer.
 */
export function run(config: MlpConfig, data: MlpData, hooks: MlpHooks = {}, trainer = createMlpTrainer(config, data)): MlpMetrics {
  const evalNow = (): void => {
    const { point, percentiles } = trainer.evaluate();
    hooks.onEval?.(point, percentiles);
  };
  if (trainer.curve.length === 0) evalNow();
  while (trainer.stepsDone < config.steps && !trainer.diverged) {
    const loss = trainer.step();
    hooks.onStep?.(trainer.stepsDone, loss);
    if (trainer.stepsDone % config.evalEvery === 0 && !trainer.diverged) evalNow();
  }
  if (!trainer.diverged && trainer.curve.at(-1)?.step !== trainer.stepsDone) evalNow();
  const seconds = trainer.progress().trainSeconds;
  return {
    name: config.name,
    config,
    curve: trainer.curve,
    percentiles: trainer.percentiles,
    diverged: trainer.diverged,
    landscape: trainer.landscape,
    stepsDone: trainer.stepsDone,
    stepsPerSecond: seconds > 0 ? trainer.stepsDone / seconds : 0,
  };
}
