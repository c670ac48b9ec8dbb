/** Messages between the page and the training worker (worker.ts). */
import type { CurvePoint, PercentilePoint } from '../src/experiments/mnistMlp.js';
import type { ChannelNumbers } from './lab/drift.js';
import type { RuntimeInfo } from './lab/runtime.js';

export type Placement = 'before' | 'after';

export interface DriftSettings {
  lr: number;
  /** Where BatchNorm sits in the BN run: before or after each sigmoid. */
  placement: Placement;
}

/** Histogram bins of the sigmoid inputs: HIST_BINS equal bins over [HIST_MIN, HIST_MAX], outliers in the end bins. */
export const HIST_MIN = -6;
export const HIST_MAX = 6;
export const HIST_BINS = 48;

export interface RunSnapshot {
  /** 'plain' (no BN) or 'bn'. */
  run: 'plain' | 'bn';
  step: number;
  accuracy: CurvePoint;
  percentiles: PercentilePoint;
  /** Per hidden layer, the counts of its sigmoid inputs in HIST_BINS bins (over the held-out batch and all units). */
  histograms: number[][];
  diverged: string | null;
}

export type ToWorker =
  | { type: 'init'; dataUrl: string; settings: DriftSettings }
  | { type: 'reset'; settings: DriftSettings }
  | { type: 'start' }
  | { type: 'pause' }
  | { type: 'classify'; index: number };

export interface Classification {
  index: number;
  label: number;
  /** 784 pixels in [0, 1]. */
  pixels: Float32Array;
  /** Steps the BN network has trained. */
  step: number;
  placement: Placement;
  /** Softmax of the BN network in eval mode (running statistics). */
  evalProbs: number[];
  /** Softmax when each BatchNorm uses the statistics of this one sample (mean = x, variance 0). */
  singleProbs: number[];
  /** The library's error for a batch of one in training mode. */
  trainError: string;
  /** The first channels of the last hidden layer's BatchNorm: gamma, beta, running statistics. */
  channels: ChannelNumbers[];
}

export type FromWorker =
  /** `runtime`: the kernels training runs on, in the worker (backend, threads, shared memory). */
  | { type: 'ready'; nTrain: number; nTest: number; runtime: RuntimeInfo }
  | { type: 'status'; running: boolean; step: number; stepsPerSecond: number }
  | { type: 'snapshot'; snapshots: RunSnapshot[] }
  | { type: 'classified'; result: Classification }
  | { type: 'error'; message: string };
