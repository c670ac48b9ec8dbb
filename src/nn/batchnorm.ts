import { checkFloatDtype, checkOptions, checkSize, className, formatValue, warnOnce } from '../describe.js';
import { noGrad } from '../autograd/tape.js';
import { batchNorm } from '../ops/batchNorm.js';
import { expectTensors } from '../ops/util.js';
import { formatShape } from '../tensor/shape.js';
import { full, Tensor, zeros } from '../tensor/tensor.js';
import { Module, Parameter } from './module.js';

export interface BatchNormOptions {
  /** Added to the variance for numerical stability (PyTorch 1e-5; Keras uses 1e-3). */
  eps?: number | undefined;
  /**
   * Weight of the new batch in the running statistics:
   * running = (1 - momentum) * running + momentum * batch (PyTorch's convention, default 0.1;
   * Keras's `momentum=0.99` is this library's 0.01). `null`: cumulative moving average,
   * every batch weighted equally.
   */
  momentum?: number | null | undefined;
  /** Learn a per-channel scale gamma (`weight`) and shift beta (`bias`) (default true). */
  affine?: boolean | undefined;
  /**
   * Keep running statistics for evaluation (default true). When false, the batch's
   * statistics are used in evaluation mode too, and no running statistics exist.
   */
  trackRunningStats?: boolean | undefined;
  /**
   * Channels in the last dim: inputs (N, *, C), as Keras and TF.js lay them out (their
   * `axis=-1`), e.g. (N, H, W, C) for BatchNorm2d. Default false: (N, C, *), PyTorch's layout.
   * Same statistics and parameters either way; the kernels run on either layout directly.
   */
  channelsLast?: boolean | undefined;
  dtype?: 'float32' | 'float64' | undefined;
}

/**
 * Batch Normalization (Ioffe & Szegedy 2015) over the channel dim 1 of an input (N, C, *)
 * (or the last dim, (N, *, C), with `channelsLast`), with PyTorch's semantics. Training mode:
 *
 *   y = (x - E[x]) / sqrt(Var[x] + eps) * weight + bias
 *
 * with mean and biased variance per channel over all other axes; the running mean and the
 * running *unbiased* variance move towards them by `momentum`, and `numBatchesTracked`
 * counts the batches. Evaluation mode (`eval()`) normalises with the running statistics,
 * so a single sample gets the same answer whatever batch it comes in.
 *
 * BatchNorm1d, 2d and 3d differ only in the input ranks they accept.
 */
export abstract class BatchNorm extends Module {
  static override readonly displayName: string = 'BatchNorm';
  /** gamma (C), initialised to 1; null when `affine` is false. */
  weight: Parameter | null;
  /** beta (C), initialised to 0; null when `affine` is false. */
  bias: Parameter | null;
  /** Running mean (C), initialised to 0; null when `trackRunningStats` is false. */
  runningMean: Tensor | null;
  /** Running unbiased variance (C), initialised to 1; null when `trackRunningStats` is false. */
  runningVar: Tensor | null;
  /** Training batches seen (an int64 scalar, as in PyTorch); null when not tracking. */
  numBatchesTracked: Tensor | null;

  /**
   * Frozen (see `freeze()`): normalise with the running statistics and leave them unchanged,
   * in training mode too. Unlike `eval()`, this survives `model.train()`.
   */
  frozen = false;
  /** The parameters `freeze({ affine: true })` stopped (not those that were fixed already, e.g. by kerasBatchNorm). */
  #frozeParams: Parameter[] = [];

  readonly eps: number;
  /**
   * May be changed between steps (as `bn.momentum = None` in PyTorch); checked at every forward.
   * Weight of the NEW batch (PyTorch's convention): a value above 0.5 warns once per process
   * (code 'BATCHNORM_MOMENTUM'), as it is usually Keras's convention typed in (Keras's 0.99 is 0.01 here).
   */
  momentum: number | null;
  /** The momentum whose convention was last looked at: a new value set between steps is looked at by the next forward. */
  #seenMomentum: number | null;
  readonly affine: boolean;
  readonly trackRunningStats: boolean;
  /** Channels in the last dim (N, *, C) instead of dim 1. */
  readonly channelsLast: boolean;

  constructor(
    readonly numFeatures: number,
    options: BatchNormOptions = {},
  ) {
    super();
    const name = className(this);
    checkSize(name, 'numFeatures', numFeatures);
    checkOptions(name, options, ['eps', 'momentum', 'affine', 'trackRunningStats', 'channelsLast', 'dtype']);
    const { eps = 1e-5, momentum = 0.1, affine = true, trackRunningStats = true, channelsLast = false } = options;
    const dtype = checkFloatDtype(name, options.dtype ?? 'float32');
    if (!(eps > 0)) throw new RangeError(`${name}: eps must be positive (got ${eps})`);
    checkMomentum(name, momentum);
    if (!quietMomentum) warnKerasLikeMomentum(name, momentum);
    this.eps = eps;
    this.momentum = momentum;
    this.#seenMomentum = momentum;
    this.affine = affine;
    this.trackRunningStats = trackRunningStats;
    this.channelsLast = channelsLast;
    this.weight = affine ? new Parameter(full([numFeatures], 1, { dtype })) : null;
    this.bias = affine ? new Parameter(zeros([numFeatures], { dtype })) : null;
    this.runningMean = trackRunningStats ? zeros([numFeatures], { dtype }) : null;
    this.runningVar = trackRunningStats ? full([numFeatures], 1, { dtype }) : null;
    this.numBatchesTracked = trackRunningStats ? zeros([], { dtype: 'int64' }) : null;
    this.registerBuffer('runningMean');
    this.registerBuffer('runningVar');
    this.registerBuffer('numBatchesTracked');
  }

  /** Running statistics that would make every output NaN (see `runningStatsProblem`), and a count that is not one. */
  protected override refuseStateValue(name: string, value: Tensor): string | null {
    if (name === 'running_mean') return runningStatsProblem(name, value.data, false);
    if (name === 'running_var') return runningStatsProblem(name, value.data, true);
    // A negative count makes momentum: null's next factor 1/0 (statistics Infinity/NaN); NaN is refused as an int64.
    const count = value.data[0];
    if (name === 'num_batches_tracked' && Number.isFinite(count) && !(Number.isInteger(count) && count >= 0)) {
      return `num_batches_tracked must be a non-negative integer (got ${count})`;
    }
    return null;
  }

  /**
   * A state dict without 'num_batches_tracked' loads and leaves the counter as it is, as PyTorch
   * 2.2 and later do for unversioned dicts (pytorch/pytorch#110850; earlier versions reset it to 0).
   */
  protected override optionalStateKeys(): readonly string[] {
    return ['num_batches_tracked'];
  }

  /** Throws PyTorch's error for an input rank this variant does not accept. */
  protected abstract checkInputDim(input: Tensor): void;

  forward(input: Tensor): Tensor {
    expectTensors('batch_norm', { input });
    this.checkInputDim(input);
    const channelDim = this.channelsLast ? input.ndim - 1 : 1;
    if (input.shape[channelDim] !== this.numFeatures) {
      const where = this.channelsLast ? 'the last dim (channelsLast)' : 'dim 1';
      // The other layout fits: the likeliest mistake (Keras / TF.js data is channels last).
      const otherDim = this.channelsLast ? 1 : input.ndim - 1;
      const name = `${className(this)}(${this.numFeatures}`;
      const hint = input.ndim < 3 || input.shape[otherDim] !== this.numFeatures ? ''
        : this.channelsLast
          ? ` (channels-first input? ${name}) without channelsLast takes ${layoutOf(input.ndim, false)})`
          : ` (channels-last input? ${name}, { channelsLast: true }) takes ${layoutOf(input.ndim, true)})`;
      throw new RangeError(
        `${name}): expected input with ${this.numFeatures} channels in ${where} ` +
          `(got ${input.shape[channelDim]} channels, input shape ${formatShape(input.shape)})${hint}`,
      );
    }
    checkMomentum(className(this), this.momentum);
    if (this.momentum !== this.#seenMomentum) {
      warnKerasLikeMomentum(className(this), this.momentum);
      this.#seenMomentum = this.momentum;
    }
    // As PyTorch's _BatchNorm.forward: count the batch, and with momentum null weight it 1/count.
    let factor = this.momentum ?? 0;
    // Frozen: behave as in evaluation mode whatever `training` says.
    const training = this.training && !this.frozen;
    if (training && this.numBatchesTracked) {
      const count = this.numBatchesTracked.data;
      // A batch that fails validation (one value per channel) must not be counted: check before
      // incrementing. An empty batch is counted, as PyTorch does.
      const n = input.size / (input.shape[channelDim] || 1);
      if (n !== 1) {
        count[0] += 1;
        if (this.momentum === null) factor = 1 / count[0];
      }
    }
    // Batch statistics in training, and in evaluation when there are no running ones.
    const useBatchStats = training || this.runningMean === null;
    return batchNorm(input, {
      runningMean: this.runningMean,
      runningVar: this.runningVar,
      weight: this.weight,
      bias: this.bias,
      training: useBatchStats,
      momentum: factor,
      eps: this.eps,
      channelsLast: this.channelsLast,
    });
  }

  /**
   * Freezes this layer for fine-tuning (detectron2's FrozenBatchNorm, torchvision's
   * `norm_layer=FrozenBatchNorm2d`): it normalises with its running statistics and never
   * updates them or `numBatchesTracked`, even in training mode, and this survives
   * `model.train()`. With `affine: true` gamma and beta stop training too (`requiresGrad`
   * false, gradients cleared). Needs running statistics (`trackRunningStats`). Returns this.
   * @example model.train(); bn.freeze({ affine: true }); // the rest of the model trains
   */
  freeze(options: { affine?: boolean } = {}): this {
    checkOptions('freeze', options, ['affine']);
    const { affine = false } = options;
    if (!this.runningMean) {
      throw new Error(`${className(this)}: cannot freeze a layer without running statistics (trackRunningStats is false)`);
    }
    this.frozen = true;
    if (affine && this.weight && this.bias) {
      for (const p of [this.weight, this.bias]) {
        if (p.requiresGrad) this.#frozeParams.push(p);
        p.requiresGrad_(false);
        p.clearGrad();
      }
    }
    return this;
  }

  /** The parameters `freeze({ affine: true })` stopped (gamma and beta, unless they were fixed before); `unfreeze()` restarts them. */
  get frozeParameters(): readonly Parameter[] {
    return [...this.#frozeParams];
  }

  /** Undoes `freeze()`: batch statistics in training mode again, gamma/beta trainable if `freeze` stopped them. */
  unfreeze(): this {
    this.frozen = false;
    for (const p of this.#frozeParams) p.requiresGrad_(true);
    this.#frozeParams = [];
    return this;
  }

  /** Running statistics back to mean 0, variance 1, count 0. */
  resetRunningStats(): void {
    noGrad(() => {
      this.runningMean?.data.fill(0);
      this.runningVar?.data.fill(1);
      this.numBatchesTracked?.data.fill(0);
    });
  }

  /** Running statistics reset, weight 1, bias 0. */
  resetParameters(): void {
    this.resetRunningStats();
    this.weight?.data.fill(1);
    this.bias?.data.fill(0);
    this.weight?.bumpVersion();
    this.bias?.bumpVersion();
  }

  override toString(): string {
    return `${className(this)}(${this.numFeatures}, eps=${this.eps}, momentum=${this.momentum}, affine=${this.affine}, trackRunningStats=${this.trackRunningStats}${this.channelsLast ? ', channelsLast=true' : ''}${this.frozen ? ', frozen' : ''})`;
  }
}

function checkMomentum(layer: string, momentum: number | null): void {
  if (momentum !== null && !(typeof momentum === 'number' && momentum >= 0 && momentum <= 1)) {
    throw new RangeError(`${layer}: momentum must be in [0, 1] or null (got ${formatValue(momentum)})`);
  }
}

let quietMomentum = false;

/**
 * @internal Runs `make` without the momentum warning, for `kerasBatchNorm`: its momentum is
 * converted from Keras's (and warned about in Keras's terms there).
 */
export function withoutMomentumWarning<T>(make: () => T): T {
  quietMomentum = true;
  try {
    return make();
  } finally {
    quietMomentum = false;
  }
}

/** Keras's momentum (weight of the OLD average, default 0.99) typed into PyTorch's convention is silently wrong: say so, once. */
function warnKerasLikeMomentum(layer: string, momentum: number | null): void {
  if (momentum === null || !(momentum > 0.5)) return;
  warnOnce(
    'BATCHNORM_MOMENTUM',
    `${layer}: momentum ${momentum} is the weight of the NEW batch in the running statistics here (PyTorch's convention, default 0.1), ` +
      `so the running statistics follow the last batch almost entirely. Keras/TF.js's momentum is the weight of the OLD average: ` +
      `their momentum=0.99 is momentum 0.01 here (or use kerasBatchNorm(weights, { momentum: 0.99 }), which converts it)`,
  );
}

/** (N, C, H, W) or (N, H, W, C) for a 4-D input: the layout names, for messages. */
function layoutOf(ndim: number, channelsLast: boolean): string {
  const rest = ({ 3: ['L'], 4: ['H', 'W'], 5: ['D', 'H', 'W'] } as Record<number, string[]>)[ndim] ?? [];
  return `(${(channelsLast ? ['N', ...rest, 'C'] : ['N', 'C', ...rest]).join(', ')})`;
}

/** PyTorch's error for an input rank the variant does not accept, naming the layer and the variant that takes it. */
function rankError(bn: BatchNorm, allowed: string, input: Tensor): RangeError {
  const dims = ({ 2: 1, 3: 1, 4: 2, 5: 3 } as Record<number, number>)[input.ndim];
  const hint = dims ? `; a ${input.ndim}D input takes BatchNorm${dims}d (from kerasBatchNorm: pass { dims: ${dims} })` : '';
  return new RangeError(`${className(bn)}(${bn.numFeatures}): expected ${allowed} input (got ${input.ndim}D input)${hint}`);
}

/** BatchNorm over (N, C) or (N, C, L) (PyTorch's `nn.BatchNorm1d`; (N, L, C) with `channelsLast`): after Linear layers. */
export class BatchNorm1d extends BatchNorm {
  static override readonly displayName: string = 'BatchNorm1d';
  protected checkInputDim(input: Tensor): void {
    if (input.ndim !== 2 && input.ndim !== 3) throw rankError(this, '2D or 3D', input);
  }
}

/** BatchNorm over (N, C, H, W) (PyTorch's `nn.BatchNorm2d`; (N, H, W, C) with `channelsLast`): after Conv2d layers. */
export class BatchNorm2d extends BatchNorm {
  static override readonly displayName: string = 'BatchNorm2d';
  protected checkInputDim(input: Tensor): void {
    if (input.ndim !== 4) throw rankError(this, '4D', input);
  }
}

/** BatchNorm over (N, C, D, H, W) (PyTorch's `nn.BatchNorm3d`; (N, D, H, W, C) with `channelsLast`). */
export class BatchNorm3d extends BatchNorm {
  static override readonly displayName: string = 'BatchNorm3d';
  protected checkInputDim(input: Tensor): void {
    if (input.ndim !== 5) throw rankError(this, '5D', input);
  }
}

/**
 * Why stored statistics (`name`, as the file calls them) would turn every output into NaN in
 * evaluation mode, or null: a value that is not finite, or a negative variance.
 */
function runningStatsProblem(name: string, values: ArrayLike<number>, isVariance: boolean): string | null {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) return `${name} must be finite (got ${values[i]} at channel ${i})`;
    if (isVariance && values[i] < 0) return `${name} must be non-negative (got ${values[i]} at channel ${i})`;
  }
  return null;
}
