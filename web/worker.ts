/// <reference lib="webworker" />
/**
 * The training worker: the page's two labs, each a few runs of the lab's MNIST network
 * (src/experiments/mnistMlp.ts) stepped in lockstep: 'drift' (section 3: without and with
 * BatchNorm) and 'santurkar' (section 5: without BN, with BN, with noisy BN, looking at the loss
 * landscape as they go). Same seed, so same initial weights and batch order within a lab. Work is
 * done in short slices so 'pause' and 'classify' are answered between them; both labs may run.
 */
import { parseIdx, toImageSet, type ImageSet } from '../src/data/idx.js';
import { createMlpTrainer, type MlpData, type MlpTrainer } from '../src/experiments/mnistMlp.js';
import { getBackend, ready, setBackend } from '../src/kernels/index.js';
import { Tensor } from '../src/tensor/tensor.js';
import {
  activationInputs, classifySingle, DRIFT_HELD_OUT as HELD_OUT, DRIFT_MAX_STEPS, driftConfigs, histogram,
  lastBatchNormChannels, shouldEvaluate,
} from './lab/drift.js';
import { runtimeInfo } from './lab/runtime.js';
import { SANTURKAR_MAX_STEPS, santurkarConfigs } from './lab/santurkar.js';
import {
  HIST_BINS, HIST_MAX, HIST_MIN, type FromWorker, type LabName, type LabSettings, type RunName, type RunSnapshot, type ToWorker,
} from './protocol.js';

/** Channels of the last BatchNorm shown in section 4. */
const CHANNELS_SHOWN = 20;
/** Work per slice before yielding to messages, in milliseconds. */
const SLICE_MS = 150;

const post = (msg: FromWorker): void => postMessage(msg);

interface Lab {
  settings: LabSettings;
  runs: { run: RunName; trainer: MlpTrainer; looksSent: number }[];
  maxSteps: number;
  running: boolean;
  /** Training time of this lab's steps (evaluation excluded). */
  rate: { steps: number; ms: number };
}

let data: MlpData | null = null;
let heldOut: Tensor | null = null;
const labs = new Map<LabName, Lab>();
/** Whether a slice is scheduled: at most one timer, whatever starts and resets came in between. */
let scheduled = false;

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

function reset(settings: LabSettings): void {
  if (!data) return;
  const configs = settings.lab === 'drift' ? driftConfigs(settings.lr, settings.placement) : santurkarConfigs(settings.lr, settings.noise);
  const lab: Lab = {
    settings,
    runs: configs.map(({ run, config }) => ({ run, trainer: createMlpTrainer(config, data!), looksSent: 0 })),
    maxSteps: settings.lab === 'drift' ? DRIFT_MAX_STEPS : SANTURKAR_MAX_STEPS,
    running: false,
    rate: { steps: 0, ms: 0 },
  };
  labs.set(settings.lab, lab);
  snapshot(settings.lab, lab);
  status(settings.lab, lab);
}

function snapshot(name: LabName, lab: Lab): void {
  const snapshots: RunSnapshot[] = lab.runs.map((r) => {
    const { trainer } = r;
    const { point, percentiles } = trainer.evaluate();
    let histograms: number[][] = [];
    if (name === 'drift') {
      trainer.model.eval();
      histograms = activationInputs(trainer.model, heldOut!).map((t) => histogram(t.data, HIST_MIN, HIST_MAX, HIST_BINS));
      trainer.model.train();
    }
    const looks = trainer.landscape.slice(r.looksSent);
    r.looksSent = trainer.landscape.length;
    return {
      run: r.run, step: trainer.stepsDone, accuracy: point, percentiles, histograms, looks,
      diverged: trainer.diverged ? `diverged at step ${trainer.diverged.step}: ${trainer.diverged.reason}` : null,
    };
  });
  post({ type: 'snapshot', lab: name, snapshots });
}

function status(name: LabName, lab: Lab): void {
  const { rate } = lab;
  post({
    type: 'status', lab: name, running: lab.running, finished: finished(lab), step: lab.runs[0]?.trainer.stepsDone ?? 0,
    stepsPerSecond: rate.ms > 0 ? (1000 * rate.steps) / rate.ms : 0,
  });
}

/** A lab at its last step, or whose every run diverged, trains no further (the page disables Start until a reset). */
function finished(lab: Lab): boolean {
  return lab.runs[0].trainer.stepsDone >= lab.maxSteps || lab.runs.every(({ trainer }) => trainer.diverged);
}

function schedule(): void {
  if (scheduled || ![...labs.values()].some((lab) => lab.running)) return;
  scheduled = true;
  setTimeout(slice, 0);
}

/** One slice: a step of every running lab in turn, until the slice's time is up. */
function slice(): void {
  scheduled = false;
  const t0 = performance.now();
  const active = [...labs].filter(([, lab]) => lab.running);
  while (active.some(([, lab]) => lab.running) && performance.now() - t0 < SLICE_MS) {
    for (const [name, lab] of active) {
      if (!lab.running) continue;
      try {
        const s0 = performance.now();
        for (const { trainer } of lab.runs) trainer.step();
        lab.rate.ms += performance.now() - s0;
        lab.rate.steps++;
        if (shouldEvaluate(lab.runs[0].trainer.stepsDone)) snapshot(name, lab);
        if (finished(lab)) lab.running = false;
      } catch (err) {
        lab.running = false;
        post({ type: 'error', lab: name, message: err instanceof Error ? err.message : String(err) });
      }
    }
  }
  for (const [name, lab] of active) status(name, lab);
  schedule();
}

function classify(index: number): void {
  const drift = labs.get('drift');
  if (!data || !drift || drift.settings.lab !== 'drift') return;
  const bn = drift.runs.find((r) => r.run === 'bn')!.trainer;
  const { test } = data;
  const i = ((index % test.n) + test.n) % test.n;
  const pixels = test.images.slice(i * 784, (i + 1) * 784);
  const r = classifySingle(bn.model, new Tensor(pixels, [1, 784]));
  bn.model.train();
  post({
    type: 'classified',
    result: {
      index: i, label: test.labels[i], pixels, step: bn.stepsDone, placement: drift.settings.placement, ...r,
      channels: lastBatchNormChannels(bn.model, CHANNELS_SHOWN),
    },
  });
}

function setRunning(name: LabName, running: boolean): void {
  const lab = labs.get(name);
  if (!lab) return;
  lab.running = running && !finished(lab);
  status(name, lab);
  schedule();
}

onmessage = async (e: MessageEvent<ToWorker>) => {
  const msg = e.data;
  try {
    switch (msg.type) {
      case 'init':
        data = await loadData(msg.dataUrl);
        heldOut = new Tensor(data.test.images.subarray(0, HELD_OUT * 784), [HELD_OUT, 784]);
        try {
          msg.labs.forEach(reset);
        } catch (err) {
          // A fast backend that fails here (say, a browser without wasm SIMD) must not take the page
          // down: fall back to the reference kernels, and say so on the console.
          if (getBackend() === 'ref') throw err;
          console.warn(`training worker: the ${getBackend()} kernels failed (${err instanceof Error ? err.message : String(err)}); using the reference kernels`);
          setBackend('ref');
          msg.labs.forEach(reset);
        }
        // Threads started (or refused, say by a Content-Security-Policy): the page then shows
        // the thread count the kernels really get.
        await ready();
        post({ type: 'ready', nTrain: data.train.n, nTest: data.test.n, runtime: runtimeInfo() });
        break;
      case 'reset':
        reset(msg.settings);
        break;
      case 'start':
        setRunning(msg.lab, true);
        break;
      case 'pause':
        setRunning(msg.lab, false);
        break;
      case 'classify':
        classify(msg.index);
        break;
    }
  } catch (err) {
    for (const lab of labs.values()) lab.running = false;
    post({ type: 'error', message: err instanceof Error ? err.message : String(err) });
  }
};
