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
import { describeValue, exactClass } from '../describe.js';
import { formatShape, sameShape } from '../tensor/shape.js';

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

/** The layers a checkpoint can describe, by class. */
const DESCRIBABLE = [Sequential, Linear, Conv2d, MaxPool2d, BatchNorm1d, BatchNorm2d, BatchNorm3d, ReLU, Sigmoid, Tanh, Identity, Flatten];

/**
 * Describes a model's architecture as JSON-able data. Throws for a layer it cannot describe,
 * a subclass of a known layer included (its `forward` may compute something else, which the
 * rebuilt base class would not); `fn` names the caller in the error.
 */
export function describeModel(model: Module, path = 'model', fn = 'describeModel'): LayerSpec {
  const known = exactClass(model, DESCRIBABLE, fn, path, 'Sequential, Linear, Conv2d, MaxPool2d, BatchNorm1d/2d/3d, ReLU, Sigmoid, Tanh, Flatten, Identity (the classes themselves)');
  if (model instanceof Sequential) return { type: 'Sequential', layers: model.layers().map((m, i) => describeModel(m, `${path}.${i}`, fn)) };
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
  if (model instanceof Flatten) return { type: 'Flatten', startDim: model.startDim, endDim: model.endDim };
  return { type: known.displayName as 'ReLU' | 'Sigmoid' | 'Tanh' | 'Identity' };
}

/** Deepest nesting of Sequentials a spec may have (a real model needs a handful; a file could hold thousands). */
export const MAX_ARCHITECTURE_DEPTH = 64;

/**
 * Checks a spec before anything is built and returns the state dict shapes it implies, by
 * PyTorch key (`0.weight` -> [100, 784], with the layer `model.0 (Linear)`), without
 * allocating a weight: every layer is a known
 * type, sizes are positive integers, flags are booleans (`"false"` or `0` is not false),
 * Sequentials hold arrays and nest at most `MAX_ARCHITECTURE_DEPTH` deep. Throws an error
 * naming the layer (`model.3`) otherwise.
 */
function checkArchitecture(spec: LayerSpec): Map<string, { shape: number[]; layer: string }> {
  const shapes = new Map<string, { shape: number[]; layer: string }>();
  checkSpec(spec, 'model', '', 0, shapes);
  return shapes;
}

function checkSpec(spec: unknown, path: string, prefix: string, depth: number, shapes: Map<string, { shape: number[]; layer: string }>): void {
  if (spec === null || typeof spec !== 'object' || Array.isArray(spec)) {
    throw new TypeError(`architecture: ${path} should be a layer such as {"type":"ReLU"} (got ${JSON.stringify(spec) ?? describeValue(spec)})`);
  }
  const s = spec as Record<string, unknown>;
  const type = s.type;
  const fail = (what: string): never => {
    throw new TypeError(`architecture: ${path} (${String(type)}) ${what}`);
  };
  const get = (k: string): unknown => (s[k] === undefined ? fail(`is missing "${k}"`) : s[k]);
  const int = (k: string, min = -Infinity): number => {
    const v = get(k);
    if (!Number.isSafeInteger(v) || (v as number) < min) fail(`has ${k} ${JSON.stringify(v)} (expected ${min === 1 ? 'a positive integer' : 'an integer'})`);
    return v as number;
  };
  const bool = (k: string, fallback?: boolean): boolean => {
    const v = s[k] === undefined && fallback !== undefined ? fallback : get(k);
    if (typeof v !== 'boolean') fail(`has ${k} ${JSON.stringify(v)} (expected true or false)`);
    return v as boolean;
  };
  const twoInts = (k: string, min: number): [number, number] => {
    const v = get(k);
    const p = typeof v === 'number' ? [v, v] : Array.isArray(v) && v.length === 2 ? v : null;
    if (!p || !p.every((d) => Number.isSafeInteger(d) && d >= min)) fail(`has ${k} ${JSON.stringify(v)} (expected an integer >= ${min} or a pair of them)`);
    return p as [number, number];
  };
  const add = (key: string, shape: number[]): void => {
    shapes.set(prefix + key, { shape, layer: `${path} (${String(type)})` });
  };
  switch (type) {
    case 'Sequential': {
      const layers = get('layers');
      if (!Array.isArray(layers)) fail(`has layers ${JSON.stringify(layers)} (expected an array of layers)`);
      if (depth >= MAX_ARCHITECTURE_DEPTH) fail(`nests Sequentials more than ${MAX_ARCHITECTURE_DEPTH} deep`);
      (layers as unknown[]).forEach((l, i) => checkSpec(l, `${path}.${i}`, `${prefix}${i}.`, depth + 1, shapes));
      return;
    }
    case 'Linear': {
      const [inF, outF] = [int('inFeatures', 1), int('outFeatures', 1)];
      add('weight', [outF, inF]);
      if (bool('bias')) add('bias', [outF]);
      return;
    }
    case 'Conv2d': {
      const [inC, outC] = [int('inChannels', 1), int('outChannels', 1)];
      const [kH, kW] = twoInts('kernelSize', 1);
      twoInts('stride', 1);
      twoInts('padding', 0);
      twoInts('dilation', 1);
      add('weight', [outC, inC, kH, kW]);
      if (bool('bias')) add('bias', [outC]);
      return;
    }
    case 'MaxPool2d':
      twoInts('kernelSize', 1);
      twoInts('stride', 1);
      twoInts('padding', 0);
      twoInts('dilation', 1);
      return;
    case 'BatchNorm1d':
    case 'BatchNorm2d':
    case 'BatchNorm3d': {
      const c = int('numFeatures', 1);
      const eps = get('eps');
      if (typeof eps !== 'number' || !(eps > 0) || !Number.isFinite(eps)) fail(`has eps ${JSON.stringify(eps)} (expected a positive number)`);
      const momentum = get('momentum');
      if (momentum !== null && (typeof momentum !== 'number' || !(momentum >= 0 && momentum <= 1))) {
        fail(`has momentum ${JSON.stringify(momentum)} (expected a number in [0, 1] or null)`);
      }
      bool('channelsLast', false);
      if (bool('affine')) (add('weight', [c]), add('bias', [c]));
      if (bool('trackRunningStats')) (add('running_mean', [c]), add('running_var', [c]), add('num_batches_tracked', []));
      return;
    }
    case 'ReLU':
    case 'Sigmoid':
    case 'Tanh':
    case 'Identity':
      return;
    case 'Flatten':
      int('startDim');
      int('endDim');
      return;
    default:
      throw new TypeError(`architecture: unknown layer type ${JSON.stringify(type) ?? describeValue(type)} at ${path}`);
  }
}

/**
 * Builds a model from its description, with fresh weights (load them with `loadStateDict`) of
 * `dtype` (default float32). The spec is checked first: an unknown type,
 * a missing field or a value of the wrong kind is an error naming the layer.
 */
export function buildModel(spec: LayerSpec, { dtype = 'float32' }: { dtype?: 'float32' | 'float64' } = {}): Module {
  checkArchitecture(spec);
  // Fresh weights are overwritten by the checkpoint; a fixed seed keeps building deterministic.
  return build(spec, dtype, new RNG(0));
}

function build(spec: LayerSpec, dtype: 'float32' | 'float64', rng: RNG): Module {
  switch (spec.type) {
    case 'Sequential':
      return new Sequential(...spec.layers.map((l) => build(l, dtype, rng)));
    case 'Linear':
      return new Linear(spec.inFeatures, spec.outFeatures, { bias: spec.bias, rng, dtype });
    case 'Conv2d': {
      const { stride, padding, dilation, bias } = spec;
      return new Conv2d(spec.inChannels, spec.outChannels, spec.kernelSize, { stride, padding, dilation, bias, rng, dtype });
    }
    case 'MaxPool2d':
      return new MaxPool2d(spec.kernelSize, spec.stride, spec.padding, spec.dilation);
    case 'BatchNorm1d':
    case 'BatchNorm2d':
    case 'BatchNorm3d': {
      const Cls = { BatchNorm1d, BatchNorm2d, BatchNorm3d }[spec.type];
      const { eps, momentum, affine, trackRunningStats, channelsLast = false } = spec;
      return new Cls(spec.numFeatures, { eps, momentum, affine, trackRunningStats, channelsLast, dtype });
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
      return new Flatten(spec.startDim, spec.endDim);
  }
}

/** The metadata entries that describe `model` (merge your own strings into them). */
export function checkpointMetadata(model: Module): Record<string, string> {
  const spec: ArchitectureSpec = { version: 1, model: describeModel(model, 'model', 'saveCheckpoint') };
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

/** The architecture stored in a checkpoint's metadata, checked as `buildModel` checks it, or null when there is none. */
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
  prefixed(source, () => checkArchitecture(spec.model));
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
  // Check the declared layers against the stored tensors before building anything: the
  // metadata is a few bytes of JSON, and Linear(20000, 20000) would allocate 1.6 GB to learn
  // that the file holds a (3, 32) weight. Built only when every shape matches, the model is no
  // bigger than the tensors already read.
  const shapes = checkArchitecture(architecture.model); // checked by readArchitecture: cannot throw
  for (const [key, { shape, layer }] of shapes) {
    const stored = contents.tensors[key];
    if (stored === undefined && key.endsWith('num_batches_tracked')) continue; // optional, as in loadStateDict
    if (stored === undefined || !sameShape(stored.shape, shape)) {
      throw new Error(
        `${source}: the architecture's layer ${layer} needs "${key}" of shape ${formatShape(shape)}, ` +
          `but the file ${stored === undefined ? 'has no such tensor' : `stores shape ${formatShape(stored.shape)}`}; nothing was loaded`,
      );
    }
  }
  const float64 = Object.values(contents.tensors).some((t) => t.dtype === 'float64');
  const model = buildModel(architecture.model, { dtype: float64 ? 'float64' : 'float32' });
  prefixed(source, () => model.loadStateDict(contents.tensors));
  return { ...contents, model: model.eval(), architecture };
}

/** Runs `fn`, prefixing the message of an error it throws with `source` (the file). */
function prefixed<T>(source: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof Error) err.message = `${source}: ${err.message}`;
    throw err;
  }
}
