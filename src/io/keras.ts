/**
 * Keras / TF.js BatchNormalization weights into this library's (PyTorch's) conventions.
 *
 * | Keras / TF.js                        | here (PyTorch)                         |
 * |--------------------------------------|----------------------------------------|
 * | `momentum` m = weight of the OLD     | `momentum` = 1 - m = weight of the NEW |
 * |   moving average (default 0.99)      |   batch statistics (default 0.1)       |
 * | `epsilon` (default 1e-3)             | `eps` (default 1e-5)                   |
 * | `gamma`, `beta`                      | `weight`, `bias`                       |
 * | `moving_mean`                        | `runningMean`                          |
 * | `moving_variance`: moving average of | `runningVar`: moving average of the    |
 * |   the BIASED batch variance (/n) in  |   UNBIASED batch variance (/(n-1))     |
 * |   TF.js, Keras 3 and tf.keras 2 on   |                                        |
 * |   2-D/3-D inputs; UNBIASED in        |                                        |
 * |   tf.keras 2 on 4-D/5-D (fused path) |                                        |
 * | `axis=-1`: channels last (N, H, W, C)| channel dim 1: (N, C, H, W), or the    |
 * |                                      |   last dim with `channelsLast: true`   |
 *
 * What converts exactly: everything inference uses. Both normalise with
 * `(x - mean) / sqrt(var + eps) * gamma + beta`, Keras with its moving variance as stored, so
 * copying `moving_variance` into `runningVar` unchanged gives the same outputs in evaluation
 * mode; in training mode both normalise with the biased batch variance, so outputs match too.
 *
 * What cannot convert: further training of the statistics, against TF.js and Keras 3. Each
 * step here adds `momentum * var_unbiased` where they add `(1 - m) * var_biased`, i.e. the new
 * batch's share is n/(n-1) times larger (n = values per channel in the batch: 1.7% at n = 60,
 * 0.002% for a 60 x 28 x 28 conv batch). A stored Keras moving variance cannot be turned into
 * PyTorch's form either: it mixes batches of unknown sizes, and the model does not store n.
 * Rescaling by n/(n-1) would be wrong for inference (Keras itself normalises with the stored
 * value), so this importer copies it unchanged. tf.keras 2 on 4-D/5-D inputs (its default
 * fused path: TensorFlow's fused_batch_norm applies n/(n-1), and Keras 2 leaves it in,
 * `_bessels_correction_test_only = True`) averages the unbiased variance, as here: for such a
 * layer further training follows the same update (README "BatchNorm conventions": read from the
 * source, not run).
 */
import { noGrad } from '../autograd/tape.js';
import { BatchNorm, BatchNorm1d, BatchNorm2d, BatchNorm3d, withoutMomentumWarning } from '../nn/batchnorm.js';
import { Tensor } from '../tensor/tensor.js';
import { checkOptions, className, describeValue, formatValue, warnOnce } from '../describe.js';

/** Keras's defaults (also TF.js's): `momentum` 0.99, `epsilon` 1e-3, `center` and `scale` true. */
export interface KerasBatchNormConfig {
  /**
   * Keras momentum: weight of the old moving average (default 0.99). A value below 0.5 warns
   * once per process (code 'BATCHNORM_KERAS_MOMENTUM'): usually PyTorch's convention typed in.
   */
  momentum?: number | undefined;
  /** Keras epsilon (default 1e-3). */
  epsilon?: number | undefined;
  /** Whether the Keras layer has beta (default true). */
  center?: boolean | undefined;
  /** Whether the Keras layer has gamma (default true). */
  scale?: boolean | undefined;
  /**
   * The Keras layer's `axis`: -1 (Keras's default, channels last: (N, H, W, C)) or 1
   * (`data_format='channels_first'` models: (N, C, H, W)), or a list of one of them, as
   * tf.keras saves it (`[3]`). The last axis may be given by number (3 for a 4-D input), which
   * also tells `kerasBatchNorm` the input rank: axis 3 -> `dims` 2 (BatchNorm2d).
   */
  axis?: number | readonly number[] | undefined;
  /**
   * The Keras layer's `trainable` (default true). false gives a frozen layer
   * (`bn.freeze({ affine: true })`): since TF 2.0 Keras runs a non-trainable
   * BatchNormalization in inference mode, normalising with its moving statistics and updating
   * nothing. (TF.js differs: its non-trainable layer keeps gamma and beta, but still normalises
   * with the batch's statistics and updates them when training; for that, `bn.unfreeze()` and
   * `requiresGrad_(false)` on `bn.weight` and `bn.bias`.)
   */
  trainable?: boolean | undefined;
}

/**
 * Keys of a Keras / TF.js BatchNormalization config that do not change what the layer computes
 * from its weights, accepted (and ignored) so that `layer.getConfig()` (TF.js, camelCase) or the
 * `config` of a Keras model JSON (snake_case) can be passed as it is.
 */
const PASSTHROUGH_KEYS = [
  'name', 'dtype', 'batch_input_shape', 'batchInputShape', 'input_shape', 'inputShape', 'batch_size', 'batchSize',
  'beta_initializer', 'betaInitializer', 'gamma_initializer', 'gammaInitializer',
  'moving_mean_initializer', 'movingMeanInitializer', 'moving_variance_initializer', 'movingVarianceInitializer',
  'beta_regularizer', 'betaRegularizer', 'gamma_regularizer', 'gammaRegularizer',
  'beta_constraint', 'betaConstraint', 'gamma_constraint', 'gammaConstraint',
  'fused', 'synchronized', 'renorm_clipping', 'renormClipping', 'renorm_momentum', 'renormMomentum',
];

/** Keys that change the computation: accepted only at their default (absent, or the value given). */
const DEFAULT_ONLY: Record<string, { value: unknown; why: string }> = {
  renorm: { value: false, why: 'Batch Renormalization trains with corrected statistics and keeps 3 more weights' },
  virtual_batch_size: { value: null, why: 'Ghost Batch Normalization normalises sub-batches separately' },
  virtualBatchSize: { value: null, why: 'Ghost Batch Normalization normalises sub-batches separately' },
  adjustment: { value: null, why: 'it rescales the normalised values in training' },
};

/** PyTorch's (and this library's) names for what a Keras config spells otherwise. */
const PYTORCH_NAMES: Record<string, string> = {
  eps: "PyTorch's name; Keras's is 'epsilon'",
  affine: "PyTorch's name; Keras has 'center' (beta) and 'scale' (gamma)",
  channelsLast: "Keras's is 'axis': -1 channels last, 1 channels first",
  trackRunningStats: 'a Keras layer always keeps moving statistics',
  track_running_stats: 'a Keras layer always keeps moving statistics',
  numFeatures: 'the weights give the channel count',
  num_features: 'the weights give the channel count',
};

/** Refuses what is not a Keras BatchNormalization config key (a typo, PyTorch's `eps`) or a setting that does not convert. */
function checkConfigKeys(fn: string, config: object, own: readonly string[]): void {
  if (config === null || typeof config !== 'object' || Array.isArray(config)) {
    throw new TypeError(`${fn}: config must be an object such as { momentum: 0.99, epsilon: 1e-3 } (got ${describeValue(config)})`);
  }
  const semantic = ['momentum', 'epsilon', 'center', 'scale', 'axis', 'trainable', ...own];
  for (const [key, value] of Object.entries(config)) {
    if (semantic.includes(key) || PASSTHROUGH_KEYS.includes(key)) continue;
    const fixed = DEFAULT_ONLY[key];
    if (fixed) {
      if (value === undefined || value === fixed.value) continue;
      throw new RangeError(`${fn}: Keras ${key} ${formatValue(value)} does not convert (${fixed.why}); only ${key}: ${fixed.value} does`);
    }
    const hint = PYTORCH_NAMES[key] ? ` (${PYTORCH_NAMES[key]})` : '';
    throw new TypeError(
      `${fn}: unknown config key '${key}'${hint}; the keys are ${semantic.map((k) => `'${k}'`).join(', ')}, ` +
        `and the rest of a Keras / TF.js BatchNormalization config (name, dtype, batch_input_shape, initializers, regularizers, constraints, fused, synchronized; renorm, virtual_batch_size and adjustment at their defaults)`,
    );
  }
}

/** Keras's `axis`: an int, or a list of one int as tf.keras 2 saves it (`"axis": [3]`). */
function kerasAxis(fn: string, axis: unknown): number {
  const a = Array.isArray(axis) && axis.length === 1 ? axis[0] : axis;
  if (!Number.isInteger(a)) {
    throw new RangeError(`${fn}: Keras axis must be one int (-1: channels last, 1: channels first) or a list of one int ([3]) (got ${JSON.stringify(axis) ?? formatValue(axis)})`);
  }
  return a as number;
}

/**
 * One weight array: what Keras's `get_weights()` gives (as numbers), a TF.js tensor from
 * `layer.getWeights()` (read with its `dataSync()`), its `dataSync()` result, or a Tensor.
 */
export type KerasWeight = ArrayLike<number> | Tensor | { dataSync(): ArrayLike<number> };

function toArray(w: KerasWeight, i: number): ArrayLike<number> {
  if (w instanceof Tensor) return w.data;
  if (typeof (w as { dataSync?: unknown })?.dataSync === 'function') return (w as { dataSync(): ArrayLike<number> }).dataSync();
  if (w === null || typeof w !== 'object' || typeof (w as ArrayLike<number>).length !== 'number') {
    // layer.weights holds TF.js LayerVariables (read() gives the tensor): getWeights() is what converts.
    const hint = typeof (w as { read?: unknown } | null)?.read === 'function' ? ' (a TF.js layer variable: pass layer.getWeights(), not layer.weights)' : '';
    throw new TypeError(`Keras BatchNormalization weights: weight ${i} is ${describeValue(w)}; expected an array of numbers, a typed array or a TF.js tensor${hint}`);
  }
  return w as ArrayLike<number>;
}

/** 1 - m without the float residue (1 - 0.99 is 0.010000000000000009): Keras and PyTorch momenta are written to a few digits. */
function complement(m: number): number {
  return Number((1 - m).toPrecision(15));
}

/**
 * Splits Keras's weight list, in Keras's order: `[gamma?, beta?, moving_mean, moving_variance]`
 * (gamma absent when `scale` is false, beta when `center` is false).
 */
function splitWeights(weights: readonly KerasWeight[], center: boolean, scale: boolean, numFeatures: number | null) {
  const expected = 2 + (scale ? 1 : 0) + (center ? 1 : 0);
  const names = [...(scale ? ['gamma'] : []), ...(center ? ['beta'] : []), 'moving_mean', 'moving_variance'];
  if (!Array.isArray(weights) || weights.length !== expected) {
    throw new RangeError(`Keras BatchNormalization weights: expected ${expected} arrays [${names.join(', ')}] (got ${Array.isArray(weights) ? weights.length : typeof weights})`);
  }
  const arrays = weights.map((w, i) => toArray(w, i));
  const c = numFeatures ?? arrays[0].length;
  arrays.forEach((a, i) => {
    if (a.length !== c) throw new RangeError(`Keras BatchNormalization weights: ${names[i]} has ${a.length} values, expected ${c} (one per channel)`);
  });
  // Values that turn every output into NaN or Infinity (what loadStateDict refuses too), and
  // non-numbers (a string '2' would be read as 2, 'x' as NaN): refused before anything is loaded.
  const rule: Record<string, string> = {
    gamma: 'a scale must be a finite number',
    beta: 'a shift must be a finite number',
    moving_mean: 'a mean must be finite',
    moving_variance: 'a variance must be finite and >= 0',
  };
  arrays.forEach((a, i) => {
    for (let k = 0; k < c; k++) {
      const v = a[k];
      if (typeof v !== 'number' || !Number.isFinite(v) || (names[i] === 'moving_variance' && v < 0)) {
        throw new RangeError(`Keras BatchNormalization weights: ${names[i]}[${k}] is ${formatValue(v)}; ${rule[names[i]]}`);
      }
    }
  });
  let i = 0;
  return {
    gamma: scale ? arrays[i++] : null,
    beta: center ? arrays[i++] : null,
    mean: arrays[i++],
    variance: arrays[i++],
    c,
  };
}

function checkConfig(fn: string, config: KerasBatchNormConfig, own: readonly string[] = []): { momentum: number; epsilon: number } {
  checkConfigKeys(fn, config, own);
  const { momentum = 0.99, epsilon = 1e-3 } = config;
  if (!(momentum >= 0 && momentum <= 1)) throw new RangeError(`Keras momentum must be in [0, 1] (got ${momentum})`);
  if (!(epsilon > 0)) throw new RangeError(`Keras epsilon must be positive (got ${epsilon})`);
  if (config.trainable !== undefined && typeof config.trainable !== 'boolean') {
    throw new TypeError(`${fn}: Keras trainable must be true or false (got ${formatValue(config.trainable)})`);
  }
  if (momentum < 0.5) {
    // PyTorch's momentum (weight of the NEW batch, default 0.1) typed into Keras's convention.
    warnOnce(
      'BATCHNORM_KERAS_MOMENTUM',
      `Keras momentum ${momentum} is the weight of the OLD moving average (Keras's convention, default 0.99), so it becomes momentum ${complement(momentum)} here ` +
        `and the running statistics follow the last batch almost entirely. PyTorch's momentum=0.1 is Keras momentum 0.9`,
    );
  }
  return { momentum, epsilon };
}

/**
 * A BatchNorm equivalent to a Keras / TF.js `BatchNormalization` layer: `momentum` 1 - m,
 * `eps` = epsilon, and its weights `[gamma, beta, moving_mean, moving_variance]` loaded
 * (see the module comment for exactly what converts). `dims` picks BatchNorm1d (default:
 * (N, C) or (N, L, C) inputs), 2d (after a Conv2D: (N, H, W, C)) or 3d; a positive last axis
 * implies it (axis 3 -> dims 2). The layout follows the Keras `axis` (default -1; `[3]` as
 * tf.keras saves it): the layer is `channelsLast` and takes Keras's (N, H, W, C) inputs as they
 * are; `axis: 1` gives a channels-first layer. The config may be the Keras layer's own
 * (`layer.getConfig()`, or the `config` of a model JSON): names, initializers, regularizers,
 * constraints, `fused`, ... are ignored; unknown keys (a typo, PyTorch's `eps`) are refused, as
 * are `renorm`, `virtual_batch_size` and `adjustment` when set (they do not convert).
 * A Keras layer without gamma or beta (`scale` / `center` false) gives gamma fixed at 1 / beta
 * fixed at 0 (`requiresGrad` false, so training leaves them alone, as in Keras); without both
 * the layer has `affine: false`. `toKerasBatchNorm` gives such a layer back with the same
 * `center` / `scale` and the same 2 or 3 arrays. `trainable: false` gives a frozen layer, as
 * Keras runs a non-trainable BatchNormalization (see `KerasBatchNormConfig.trainable`).
 * @example
 * const bn = kerasBatchNorm(kerasLayer.getWeights(), kerasLayer.getConfig());            // BatchNorm1d
 * const bn2 = kerasBatchNorm(afterConv.getWeights(), { ...afterConv.getConfig(), dims: 2 }); // (N, H, W, C)
 */
export function kerasBatchNorm(
  weights: readonly KerasWeight[],
  config: KerasBatchNormConfig & { dims?: 1 | 2 | 3; dtype?: 'float32' | 'float64' | KerasDTypePolicy } = {},
): BatchNorm {
  const fn = 'kerasBatchNorm';
  const { momentum, epsilon } = checkConfig(fn, config, ['dims']);
  const { center = true, scale = true } = config;
  const axis = kerasAxis(fn, config.axis ?? -1);
  // A positive axis other than 1 is the last axis of an (axis + 1)-D input: axis 3 is (N, H, W, C).
  const impliedDims = axis > 1 ? axis - 1 : undefined;
  const dims = config.dims ?? impliedDims ?? 1;
  const Cls = { 1: BatchNorm1d, 2: BatchNorm2d, 3: BatchNorm3d }[dims];
  if (!Cls) throw new RangeError(`${fn}: dims must be 1, 2 or 3 (got ${formatValue(dims)})`);
  const channelsLast = kerasAxisIsLast(fn, axis, dims);
  // Keras 3 configs give dtype as a DTypePolicy ({ config: { name: 'float32' } }).
  const dtype = typeof config.dtype === 'object' && config.dtype !== null ? config.dtype.config?.name : (config.dtype ?? 'float32');
  const w = splitWeights(weights, center, scale, null);
  // Warned about in Keras's terms above, not again in PyTorch's.
  const bn = withoutMomentumWarning(() => new Cls(w.c, { momentum: complement(momentum), eps: epsilon, affine: center || scale, channelsLast, dtype: dtype as 'float32' }));
  copyInto(bn, w);
  if (config.trainable === false) bn.freeze({ affine: true });
  return bn;
}

/** Keras 3's form of `dtype` in a saved config. */
interface KerasDTypePolicy {
  config?: { name?: string };
}

const LAYOUTS: Record<number, string> = { 1: '(N, L, C)', 2: '(N, H, W, C)', 3: '(N, D, H, W, C)' };

/**
 * Whether a Keras `axis` means channels last for a layer of `dims` spatial dims, i.e. of
 * (dims + 2)-D inputs: the last axis (-1, or dims + 1), or first (1, or -(dims + 1)).
 */
function kerasAxisIsLast(fn: string, axis: number, dims: number): boolean {
  const rank = dims + 2;
  const dim = axis < 0 ? axis + rank : axis;
  if (dim === rank - 1) return true;
  if (dim === 1) return false;
  const implied = axis > 1 && axis - 1 <= 3 ? `; axis ${axis} is the last axis of a ${axis + 1}-D input ${LAYOUTS[axis - 1]}: a ${axis - 1}-d layer, { dims: ${axis - 1} }` : '';
  throw new RangeError(
    `${fn}: for a ${dims}-d layer (${rank}-D input ${LAYOUTS[dims]}) the Keras axis must be -1 or ${rank - 1} (channels last) or 1 (channels first) (got ${axis})${implied}`,
  );
}

/**
 * Loads Keras-ordered weights `[gamma, beta, moving_mean, moving_variance]` into an existing
 * BatchNorm, after checking that its `momentum` and `eps` are Keras's converted (`momentum`
 * must be 1 - m, `eps` must be epsilon): otherwise outputs would silently differ, and the
 * error says how to construct the layer. When `config.axis` is given, the layer's layout must
 * match it (`channelsLast` for -1). `trainable: false` freezes it (`freeze({ affine: true })`),
 * as Keras runs a non-trainable layer. Returns the layer.
 * @example
 * const bn = new BatchNorm1d(64, { momentum: 0.01, eps: 1e-3 }); // Keras momentum 0.99, epsilon 1e-3
 * loadKerasBatchNorm(bn, weights, { momentum: 0.99, epsilon: 1e-3 });
 */
export function loadKerasBatchNorm(bn: BatchNorm, weights: readonly KerasWeight[], config: KerasBatchNormConfig = {}): BatchNorm {
  const fn = 'loadKerasBatchNorm';
  const { momentum, epsilon } = checkConfig(fn, config);
  const { center = true, scale = true } = config;
  const wanted = complement(momentum);
  if (bn.momentum === null || Math.abs(bn.momentum - wanted) > 1e-12 || Math.abs(bn.eps - epsilon) > 1e-12 * epsilon) {
    throw new Error(
      `loadKerasBatchNorm: Keras momentum ${momentum} and epsilon ${epsilon} mean momentum ${+wanted.toPrecision(12)} and eps ${epsilon} here, ` +
        `but this ${className(bn)} has momentum ${bn.momentum} and eps ${bn.eps}; ` +
        `construct it as new ${className(bn)}(${bn.numFeatures}, { momentum: ${+wanted.toPrecision(12)}, eps: ${epsilon} }) or use kerasBatchNorm()`,
    );
  }
  if (!bn.runningMean) throw new Error(`loadKerasBatchNorm: this ${className(bn)} keeps no running statistics (trackRunningStats false)`);
  if (config.axis !== undefined) {
    const dims = bn instanceof BatchNorm3d ? 3 : bn instanceof BatchNorm2d ? 2 : 1;
    const axis = kerasAxis(fn, config.axis);
    const last = kerasAxisIsLast(fn, axis, dims);
    if (last !== bn.channelsLast) {
      throw new Error(
        `loadKerasBatchNorm: Keras axis ${axis} is channels ${last ? 'last' : 'first'}, but this ${className(bn)} is channels ${bn.channelsLast ? 'last' : 'first'}; ` +
          `construct it with { channelsLast: ${last} } or use kerasBatchNorm()`,
      );
    }
  }
  if (!bn.affine && (center || scale)) {
    throw new Error(`loadKerasBatchNorm: the Keras layer has ${[scale && 'gamma', center && 'beta'].filter(Boolean).join(' and ')}, but this ${className(bn)} has affine false`);
  }
  copyInto(bn, splitWeights(weights, center, scale, bn.numFeatures));
  if (config.trainable === false) bn.freeze({ affine: true });
  return bn;
}

function copyInto(bn: BatchNorm, w: ReturnType<typeof splitWeights>): void {
  noGrad(() => {
    // A Keras layer without gamma (scale false) or beta (center false) never trains them:
    // they stay 1 / 0 here too (requiresGrad false: no gradient, so the optimizers skip them,
    // as PyTorch's do), and toKerasBatchNorm recognises them and leaves them out again.
    for (const [p, values, fill] of [[bn.weight, w.gamma, 1], [bn.bias, w.beta, 0]] as const) {
      if (!p) continue;
      if (values) {
        p.data.set(values);
      } else {
        p.data.fill(fill);
        p.requiresGrad_(false).clearGrad();
      }
      p.bumpVersion();
    }
    bn.runningMean!.data.set(w.mean);
    bn.runningVar!.data.set(w.variance);
    // Keras keeps no batch count; 0 is what a freshly built PyTorch layer says.
    bn.numBatchesTracked?.data.fill(0);
  });
}

/**
 * A gamma / beta that Keras would not have: absent, or fixed (no gradient, and not because
 * `freeze` stopped it) at its initial value 1 / 0.
 */
function fixedAt(bn: BatchNorm, p: Tensor | null, value: number): boolean {
  return p === null || (!p.requiresGrad && !bn.frozeParameters.includes(p) && p.data.every((v) => v === value));
}

/**
 * The reverse, for export to Keras / TF.js: the weights in Keras's order
 * `[gamma?, beta?, moving_mean, moving_variance]`, the Keras `momentum` (1 - momentum here),
 * `epsilon`, `axis` (-1 for a channels-last layer, else 1), `trainable` (false for a frozen
 * layer, see `KerasBatchNormConfig.trainable`), and `center` / `scale`: whether
 * the list has beta / gamma, i.e. the config of the Keras layer to load it into
 * (`tf.layers.batchNormalization({ momentum, epsilon, axis, center, scale }).setWeights(...)`).
 *
 * gamma is left out (`scale` false) when the layer has none (`affine: false`) or when it is
 * fixed at 1: `requiresGrad` false and all ones, as `kerasBatchNorm` builds it from a
 * `scale: false` layer; likewise beta (`center` false) when absent or fixed at 0. A trainable
 * gamma is always exported, even when it is all ones. `options.scale` / `options.center`
 * override the choice: true exports ones / zeros for an absent parameter, false is refused
 * when the parameter is not fixed at 1 / 0 (Keras would compute another function).
 *
 * The running variance is exported as stored (what inference uses). A BatchNorm with
 * `momentum` null (cumulative average) has no Keras equivalent; momentum is then reported as
 * null. Round trips with kerasBatchNorm are bit-identical for float32 layers.
 * @example
 * const { weights, momentum, epsilon, axis, center, scale } = toKerasBatchNorm(bn);
 * const layer = tf.layers.batchNormalization({ momentum: momentum ?? undefined, epsilon, axis, center, scale }); // null: no Keras equivalent
 * layer.build([null, bn.numFeatures]);
 * layer.setWeights(weights.map((w) => tf.tensor1d(w)));
 */
export function toKerasBatchNorm(
  bn: BatchNorm,
  options: { center?: boolean; scale?: boolean } = {},
): { weights: Float32Array[]; momentum: number | null; epsilon: number; axis: number; center: boolean; scale: boolean; trainable: boolean } {
  checkOptions('toKerasBatchNorm', options, ['center', 'scale']);
  if (!bn.runningMean || !bn.runningVar) throw new Error(`toKerasBatchNorm: this ${className(bn)} keeps no running statistics`);
  const scale = options.scale ?? !fixedAt(bn, bn.weight, 1);
  const center = options.center ?? !fixedAt(bn, bn.bias, 0);
  if (!scale && bn.weight && !bn.weight.data.every((v) => v === 1)) {
    throw new Error(`toKerasBatchNorm: scale false, but this ${className(bn)}'s gamma (weight) is not all ones; a Keras layer without gamma would compute another function`);
  }
  if (!center && bn.bias && !bn.bias.data.every((v) => v === 0)) {
    throw new Error(`toKerasBatchNorm: center false, but this ${className(bn)}'s beta (bias) is not all zeros; a Keras layer without beta would compute another function`);
  }
  const c = bn.numFeatures;
  const f32 = (t: Tensor | null, fill: number) => (t ? Float32Array.from(t.data) : new Float32Array(c).fill(fill));
  return {
    weights: [...(scale ? [f32(bn.weight, 1)] : []), ...(center ? [f32(bn.bias, 0)] : []), f32(bn.runningMean, 0), f32(bn.runningVar, 1)],
    momentum: bn.momentum === null ? null : complement(bn.momentum),
    epsilon: bn.eps,
    axis: bn.channelsLast ? -1 : 1,
    center,
    scale,
    trainable: !bn.frozen,
  };
}
