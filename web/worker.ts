/// <reference lib="webworker" />
/**
 * The training worker: two runs of the lab's MNIST network (src/experiments/mnistMlp.ts), one
 * without BatchNorm and one with it, stepped in lockstep in short slices so 'pause' and
 * 'classify' are answered between slices. Same seed, same initial weights, same batch order.
 */
import { parseIdx, toImageSet, type ImageSet } from '../src/data/idx.js';
import { createMlpTrainer, type MlpData, type MlpTrainer } from '../src/experiments/mnistMlp.js';
import { getBackend, setBackend } from '../src/kernels/index.js';
import { Tensor } from '../src/tensor/tensor.js';
import {
  activationInputs, classifySingle, DRIFT_HELD_OUT as HELD_OUT, DRIFT_MAX_STEPS as MAX_STEPS, driftConfigs, histogram,
  lastBatchNormChannels, shouldEvaluate,
} from './lab/drift.js';
import { runtimeInfo } from './lab/runtime.js';
import { HIST_BINS, HIST_MAX, HIST_MIN, type DriftSettings, type FromWorker, type RunSnapshot, type ToWorker } from './protocol.js';

/** Channels of the last BatchNorm shown in section 4. */
const CHANNELS_SHOWN = 20;
/** Work per slice before yielding to messages, in milliseconds. */
const SLICE_MS = 150;

const post = (msg: FromWorker): void => postMessage(msg);

let data: MlpData | null = null;
let heldOut: Tensor | null = null;
let runs: { run: 'plain' | 'bn'; trainer: MlpTrainer }[] = [];
let settings: DriftSettings = { lr: 0.5, placement: 'before' };
let running = false;
/** Identifies the live training loop: bumped by start and reset, so a stale timer never runs a second loop. */
let loop = 0;
let rate = { steps: 0, ms: 0 };

async function fetchIdx(base: string, name: string) {
  const res = await fetch(new URL(name, base));
  if (!res.ok) throw new Error(`could not load ${name}: HTTP ${res.status}`);
  return parseIdx(new Uint8Array(await res.arrayBuffer()), name);
}

async function loadData(base: string): Promise<MlpData> {
  const split = async (images: string, labels: string): Promise<ImageSet> =>
    toImageSet(await fetchIdx(base, images), await fetchIdx(base, labels), { images, labels });
  return {
    train: await split('train-images-idx3-ubyte', 'train-labels-idx1-ubyte'),
    test: await split('t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'),
  };
}

function reset(next: DriftSettings): void {
  if (!data) return;
  settings = next;
  loop++;
  running = false;
  rate = { steps: 0, ms: 0 };
  runs = driftConfigs(next.lr, next.placement).map(({ run, config }) => ({ run, trainer: createMlpTrainer(config, data!) }));
  snapshot();
  status();
}

function snapshot(): void {
  const snapshots: RunSnapshot[] = runs.map(({ run, trainer }) => {
    const { point, percentiles } = trainer.evaluate();
    trainer.model.eval();
    const histograms = activationInputs(trainer.model, heldOut!).map((t) => histogram(t.data, HIST_MIN, HIST_MAX, HIST_BINS));
    trainer.model.train();
    return {
      run, step: trainer.stepsDone, accuracy: point, percentiles, histograms,
      diverged: trainer.diverged ? `diverged at step ${trainer.diverged.step}: ${trainer.diverged.reason}` : null,
    };
  });
  post({ type: 'snapshot', snapshots });
}

function status(): void {
  post({ type: 'status', running, step: runs[0]?.trainer.stepsDone ?? 0, stepsPerSecond: rate.ms > 0 ? (1000 * rate.steps) / rate.ms : 0 });
}

function slice(id: number): void {
  if (!running || id !== loop) return;
  const t0 = performance.now();
  let trainMs = 0;
  let steps = 0;
  try {
    while (performance.now() - t0 < SLICE_MS) {
      const s0 = performance.now();
      for (const { trainer } of runs) trainer.step();
      trainMs += performance.now() - s0;
      steps++;
      const step = runs[0].trainer.stepsDone;
      if (shouldEvaluate(step)) snapshot();
      if (step >= MAX_STEPS || runs.every(({ trainer }) => trainer.diverged)) {
        running = false;
        break;
      }
    }
  } catch (err) {
    running = false;
    post({ type: 'error', message: err instanceof Error ? err.message : String(err) });
  }
  rate = { steps: rate.steps + steps, ms: rate.ms + trainMs };
  status();
  setTimeout(() => slice(id), 0);
}

function classify(index: number): void {
  if (!data) return;
  const bn = runs.find((r) => r.run === 'bn')!.trainer;
  const { test } = data;
  const i = ((index % test.n) + test.n) % test.n;
  const pixels = test.images.slice(i * 784, (i + 1) * 784);
  const r = classifySingle(bn.model, new Tensor(pixels, [1, 784]));
  bn.model.train();
  post({
    type: 'classified',
    result: {
      index: i, label: test.labels[i], pixels, step: bn.stepsDone, placement: settings.placement, ...r,
      channels: lastBatchNormChannels(bn.model, CHANNELS_SHOWN),
    },
  });
}

onmessage = async (e: MessageEvent<ToWorker>) => {
  const msg = e.data;
  try {
    switch (msg.type) {
      case 'init':
        data = await loadData(msg.dataUrl);
        heldOut = new Tensor(data.test.images.subarray(0, HELD_OUT * 784), [HELD_OUT, 784]);
        try {
          reset(msg.settings);
        } catch (err) {
          // A fast backend that fails here (say, a browser without wasm SIMD) must not take the page
          // down: fall back to the reference kernels, and say so on the console.
          if (getBackend() === 'ref') throw err;
          console.warn(`training worker: the ${getBackend()} kernels failed (${err instanceof Error ? err.message : String(err)}); using the reference kernels`);
          setBackend('ref');
          reset(msg.settings);
        }
        post({ type: 'ready', nTrain: data.train.n, nTest: data.test.n, runtime: runtimeInfo() });
        break;
      case 'reset':
        reset(msg.settings);
        break;
      case 'start':
        if (data && !running) {
          running = true;
          status();
          slice(++loop);
        }
        break;
      case 'pause':
        running = false;
        status();
        break;
      case 'classify':
        classify(msg.index);
        break;
    }
  } catch (err) {
    running = false;
    post({ type: 'error', message: err instanceof Error ? err.message : String(err) });
  }
};
