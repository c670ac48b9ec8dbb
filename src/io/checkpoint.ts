/**
 * Checkpoints: a model's weights AND its architecture in one safetensors file, so that a tool
 * (`batchnorm export`, `batchnorm predict`, the web lab) can rebuild the model without the code
 * that made it.
 *
 * ## Format (version 1)
 *
 * A safetensors file whose tensors are the model's `stateDict()` (PyTorch key names:
 * `0.weight`, `1.running_mean`, `1.num_batches_tracked` as I64), and whose `__metadata__` holds:
 *
 * - `"format": "pt"`: the convention of PyTorch's safetensors files (keys are PyTorch's).
 * - `"batchnorm.architecture"`: JSON of an {@link ArchitectureSpec}, e.g.
 *   `{"version":1,"model":{"type":"Sequential","layers":[{"type":"Linear","inFeatures":784,
 *   "outFeatures":100,"bias":true},{"type":"BatchNorm1d","numFeatures":100,"eps":1e-5,
 *   "momentum":0.1,"affine":true,"trackRunningStats":true},{"type":"Sigmoid"}, ...]}}`
 * - optionally `"batchnorm.input_shape"`: JSON of the input shape with a batch dim, e.g.
 *   `"[1,1,28,28]"`; `batchnorm export` uses it when the first layer is not a Linear (a conv net).
 * - anything else the caller adds (strings only, as safetensors requires), e.g. `"step": "5000"`,
 *   `"config": "{...}"` (experiment settings), `"dataset": "mnist"`. Keys outside
 *   `batchnorm.` are free for callers; optimizer state belongs in a separate file.
 *
 * Writing: `saveCheckpoint(path, model, extra)`. Reading: `loadCheckpoint(pathOrBytes)`, which
 * rebuilds the model and loads its weights strictly (every key, every shape). A file without
 * the architecture entry (e.g. one written by PyTorch) still loads as plain tensors with
 * `loadSafetensors`, into a model you build yourself.
 *
 * Supported layers: Sequential (nested), Linear, Conv2d, MaxPool2d, BatchNorm1d/2d/3d, ReLU,
 * Sigmoid, Tanh, Flatten, Identity. The weights' dtype is the tensors' own (F32 or F64).
 */
import { Sigmoid, ReLU, Tanh, Flatten } from '../nn/activation.js';
import { BatchNorm, BatchNorm1d, BatchNorm2d, BatchNorm3d } from '../nn/batchnorm.js';
import { Conv2d, MaxPool2d } from '../nn/conv.js';
import { Identity } from '../nn/identity.js';
import { Linear } from '../nn/linear.js';
import type { Module } from '../nn/module.js';
import { Sequential } from '../nn/sequential.js';
import { RNG } from '../random.js';
import { loadSafetensors, saveSafetensors, serializeSafetensors, type SafetensorsContents } from './safetensors.js';
import { className } from '../describe.js';

/** Metadata key under which the architecture JSON is stored. */
export const ARCHITECTURE_KEY = 'batchnorm.architecture';
/** Metadata key of the model's input shape with a batch dim, e.g. "[1,1,28,28]" (optional). */
export const INPUT_SHAPE_KEY = 'batchnorm.input_shape';

type Pair = [number, number];

/** One layer of an architecture description (the JSON stored in a checkpoint). */
export type LayerSpec =
  | { type: 'Sequential'; layers: LayerSpec[] }
  | { type: 'Linear'; inFeatures: number; outFeatures: number; bias: boolean }
  | { type: 'Conv2d'; inChannels: number; outChannels: number; kernelSize: Pair; stride: Pair; padding: Pair; dilation: Pair; bias: boolean }
  | { type: 'MaxPool2d'; kernelSize: Pair; stride: Pair; padding: Pair; dilation: Pair }
  | {
      type: 'BatchNorm1d' | 'BatchNorm2d' | 'BatchNorm3d';
      numFeatures: number;
      eps: number;
      momentum: number | null;
      affine: boolean;
      trackRunningStats: boolean;
      /** Present (true) only for a channels-last layer. */
      channelsLast?: boolean;
    }
  | { type: 'ReLU' | 'Sigmoid' | 'Tanh' | 'Identity' }
  | { type: 'Flatten'; startDim: number; endDim: number };

/** The architecture JSON of a checkpoint. */
export interface ArchitectureSpec {
  version: 1;
  model: LayerSpec;
}

/** Describes a model's architecture as JSON-able data (throws for a layer it cannot describe). */
export function describeModel(model: Module, path = 'model'): LayerSpec {
  if (model instanceof Sequential) return { type: 'Sequential', layers: model.layers().map((m, i) => describeModel(m, `${path}.${i}`)) };
  if (model instanceof Linear) return { type: 'Linear', inFeatures: model.inFeatures, outFeatures: model.outFeatures, bias: model.bias !== null };
  if (model instanceof Conv2d) {
    const { inChannels, outChannels, kernelSize, stride, padding, dilation } = model;
    return { type: 'Conv2d', inChannels, outChannels, kernelSize, stride, padding, dilation, bias: model.bias !== null };
  }
  if (model instanceof MaxPool2d) {
    const { kernelSize, stride, padding, dilation } = model;
    return { type: 'MaxPool2d', kernelSize, stride, padding, dilation };
  }
  if (model instanceof BatchNorm) {
    const type = model instanceof BatchNorm1d ? 'BatchNorm1d' : model instanceof BatchNorm2d ? 'BatchNorm2d' : 'BatchNorm3d';
    const { numFeatures, eps, momentum, affine, trackRunningStats, channelsLast } = model;
    return { type, numFeatures, eps, momentum, affine, trackRunningStats, ...(channelsLast ? { channelsLast } : {}) };
  }
  if (model instanceof ReLU) return { type: 'ReLU' };
  if (model instanceof Sigmoid) return { type: 'Sigmoid' };
  if (model instanceof Tanh) return { type: 'Tanh' };
  if (model instanceof Identity) return { type: 'Identity' };
  if (model instanceof Flatten) return { type: 'Flatten', startDim: model.startDim, endDim: model.endDim };
  throw new TypeError(`describeModel: cannot describe ${path} (${className(model)}); supported: Sequential, Linear, Conv2d, MaxPool2d, BatchNorm1d/2d/3d, ReLU, Sigmoid, Tanh, Flatten, Identity`);
}

/**
 * Builds a model from its description, with fresh weights (load them with `loadStateDict`) of
 * `dtype` (default float32). Throws an error naming the layer for an unknown type or a missing field.
 */
export function buildModel(spec: LayerSpec, { dtype = 'float32' }: { dtype?: 'float32' | 'float64' } = {}, path = 'model'): Module {
  const s = spec as Record<string, unknown>;
  const need = (k: string): never => {
    throw new TypeError(`architecture: ${path} (${String(s?.type)}) is missing "${k}"`);
  };
  const get = <T>(k: string): T => (s[k] === undefined ? need(k) : (s[k] as T));
  // Fresh weights are overwritten by the checkpoint; a fixed seed keeps building deterministic.
  const rng = new RNG(0);
  switch (spec?.type) {
    case 'Sequential':
      return new Sequential(...get<LayerSpec[]>('layers').map((l, i) => buildModel(l, { dtype }, `${path}.${i}`)));
    case 'Linear':
      return new Linear(get('inFeatures'), get('outFeatures'), { bias: get('bias'), rng, dtype });
    case 'Conv2d':
      return new Conv2d(get('inChannels'), get('outChannels'), get('kernelSize'), {
        stride: get('stride'), padding: get('padding'), dilation: get('dilation'), bias: get('bias'), rng, dtype,
      });
    case 'MaxPool2d':
      return new MaxPool2d(get('kernelSize'), get('stride'), get('padding'), get('dilation'));
    case 'BatchNorm1d':
    case 'BatchNorm2d':
    case 'BatchNorm3d': {
      const Cls = { BatchNorm1d, BatchNorm2d, BatchNorm3d }[spec.type];
      const channelsLast = s.channelsLast ?? false;
      if (typeof channelsLast !== 'boolean') throw new TypeError(`architecture: ${path} (${spec.type}) has channelsLast ${JSON.stringify(channelsLast)} (expected true or false)`);
      return new Cls(get('numFeatures'), { eps: get('eps'), momentum: get('momentum'), affine: get('affine'), trackRunningStats: get('trackRunningStats'), channelsLast, dtype });
    }
    case 'ReLU':
      return new ReLU();
    case 'Sigmoid':
      return new Sigmoid();
    case 'Tanh':
      return new Tanh();
    case 'Identity':
      return new Identity();
    case 'Flatten':
      return new Flatten(get('startDim'), get('endDim'));
    default:
      throw new TypeError(`architecture: unknown layer type ${JSON.stringify(s?.type)} at ${path}`);
  }
}

/** The metadata entries that describe `model` (merge your own strings into them). */
export function checkpointMetadata(model: Module): Record<string, string> {
  const spec: ArchitectureSpec = { version: 1, model: describeModel(model) };
  return { format: 'pt', [ARCHITECTURE_KEY]: JSON.stringify(spec) };
}

/**
 * Saves a model's weights and architecture as a safetensors checkpoint, atomically.
 * `extra` adds string metadata (e.g. `{ step: '5000' }`); it cannot override the architecture.
 * @example saveCheckpoint('mlp.safetensors', model, { step: String(step) });
 */
export function saveCheckpoint(path: string, model: Module, extra: Record<string, string> = {}): void {
  saveSafetensors(path, model.stateDict(), { ...extra, ...checkpointMetadata(model) });
}

/** Checkpoint bytes (for a browser download): see `saveCheckpoint`. */
export function serializeCheckpoint(model: Module, extra: Record<string, string> = {}): Uint8Array {
  return serializeSafetensors(model.stateDict(), { ...extra, ...checkpointMetadata(model) });
}

/** The architecture stored in a checkpoint's metadata, or null when there is none. */
export function readArchitecture(metadata: Record<string, string>, source = 'checkpoint'): ArchitectureSpec | null {
  const raw = metadata[ARCHITECTURE_KEY];
  if (raw === undefined) return null;
  let spec: ArchitectureSpec;
  try {
    spec = JSON.parse(raw);
  } catch (err) {
    throw new Error(`${source}: metadata "${ARCHITECTURE_KEY}" is not valid JSON (${(err as Error).message})`);
  }
  if (spec?.version !== 1) throw new Error(`${source}: unsupported architecture version ${JSON.stringify(spec?.version)} (expected 1)`);
  return spec;
}

/** The input shape a checkpoint records (`INPUT_SHAPE_KEY`), or null; a malformed one is an error naming `source`. */
export function readInputShape(metadata: Record<string, string>, source = 'checkpoint'): number[] | null {
  const raw = metadata[INPUT_SHAPE_KEY];
  if (raw === undefined) return null;
  let shape: unknown;
  try {
    shape = JSON.parse(raw);
  } catch {
    shape = null;
  }
  if (!Array.isArray(shape) || shape.length === 0 || !shape.every((d) => Number.isInteger(d) && d > 0)) {
    throw new Error(`${source}: metadata "${INPUT_SHAPE_KEY}" should be positive integers like [1,1,28,28] (got ${raw})`);
  }
  return shape;
}

/**
 * Loads a checkpoint written by `saveCheckpoint`: rebuilds the model from the stored
 * architecture and loads every weight strictly. The model is returned in evaluation mode.
 * @example const { model, metadata } = loadCheckpoint('mlp.safetensors'); model.forward(x);
 */
export function loadCheckpoint(pathOrBytes: string | Uint8Array | ArrayBuffer): SafetensorsContents & { model: Module; architecture: ArchitectureSpec } {
  const source = typeof pathOrBytes === 'string' ? pathOrBytes : 'checkpoint';
  const contents = loadSafetensors(pathOrBytes);
  const architecture = readArchitecture(contents.metadata, source);
  if (!architecture) {
    throw new Error(`${source}: no "${ARCHITECTURE_KEY}" in the metadata, so the model cannot be rebuilt; load the tensors with loadSafetensors into a model you build`);
  }
  const float64 = Object.values(contents.tensors).some((t) => t.dtype === 'float64');
  const model = buildModel(architecture.model, { dtype: float64 ? 'float64' : 'float32' });
  model.loadStateDict(contents.tensors);
  return { ...contents, model: model.eval(), architecture };
}
