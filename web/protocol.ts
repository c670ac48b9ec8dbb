/** Messages between the page and the training worker (worker.ts). */
import type { CurvePoint, PercentilePoint } from '../src/experiments/mnistMlp.js';
import type { LandscapePoint } from '../src/experiments/santurkar.js';
import type { ChannelNumbers } from './lab/drift.js';
import type { RuntimeInfo } from './lab/runtime.js';

export type Placement = 'before' | 'after';

/**
 * The worker's two labs, each a set of networks trained in lockstep: 'drift' (section 3, without
 * and with BN) and 'santurkar' (section 5, without BN, with BN and with noisy BN).
 */
export type LabName = 'drift' | 'santurkar';

/** Section 3: where BatchNorm sits in the BN run, before or after each sigmoid. */
export interface DriftSettings {
  lab: 'drift';
  lr: number;
  placement: Placement;
}

/** Section 5: the strength of the noise injected after each BatchNorm of the noisy run, in (0, 2). */
export interface SanturkarSettings {
  lab: 'santurkar';
  lr: number;
  noise: number;
}

export type LabSettings = DriftSettings | SanturkarSettings;

/** The networks: 'plain' (no BN), 'bn', and 'noisy' (BN followed by Santurkar et al.'s noise). */
export type RunName = 'plain' | 'bn' | 'noisy';

/** Histogram bins of the sigmoid inputs: HIST_BINS equal bins over [HIST_MIN, HIST_MAX], outliers in the end bins. */
export const HIST_MIN = -6;
export const HIST_MAX = 6;
export const HIST_BINS = 48;

export interface RunSnapshot {
  run: RunName;
  step: number;
  accuracy: CurvePoint;
  percentiles: PercentilePoint;
  /**
   * Drift lab only (empty in the other): per hidden layer, the counts of its sigmoid inputs in
   * HIST_BINS bins (over the held-out batch and all units).
   */
  histograms: number[][];
  /** Santurkar lab only (empty in the other): the looks at the loss landscape made since the last snapshot. */
  looks: LandscapePoint[];
  diverged: string | null;
}

export type ToWorker =
  | { type: 'init'; dataUrl: string; labs: LabSettings[] }
  | { type: 'reset'; settings: LabSettings }
  | { type: 'start'; lab: LabName }
  | { type: 'pause'; lab: LabName }
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
  /** `finished`: the lab is at its last step, or every run diverged; only a reset trains it again. */
  | { type: 'status'; lab: LabName; running: boolean; finished: boolean; step: number; stepsPerSecond: number }
  | { type: 'snapshot'; lab: LabName; snapshots: RunSnapshot[] }
  | { type: 'classified'; result: Classification }
  /** `lab`: the lab whose training failed (it is paused); absent when loading the data failed. */
  | { type: 'error'; lab?: LabName; message: string };
