import { checkFloatDtype, checkOptions, checkSize } from '../describe.js';
import { conv2d, pair, type Size2 } from '../ops/conv2d.js';
import { maxPool2d, unsupportedPoolOptions } from '../ops/maxPool2d.js';
import { getDefaultRng, type RNG } from '../random.js';
import { rand, type Tensor } from '../tensor/tensor.js';
import { Module, Parameter } from './module.js';

export interface Conv2dModuleOptions {
  /** Step between applications of the kernel (default 1). */
  stride?: Size2 | undefined;
  /** Zeros added on both sides of each spatial dim (default 0). */
  padding?: Size2 | undefined;
  /** Spacing between kernel elements (default 1). */
  dilation?: Size2 | undefined;
  /** Learn an additive bias per output channel (default true). */
  bias?: boolean | undefined;
  /** Generator for the initial weights (default: the global one). */
  rng?: RNG | undefined;
  dtype?: 'float32' | 'float64' | undefined;
}

/**
 * 2-D convolution layer (PyTorch's `nn.Conv2d`, groups = 1, zero padding):
 * input (N, inChannels, H, W) or (inChannels, H, W) -> (N, outChannels, H_out, W_out); see `conv2d`.
 *
 * weight (outChannels, inChannels, kH, kW) and bias (outChannels) start uniform in
 * [-1/sqrt(fanIn), 1/sqrt(fanIn)], fanIn = inChannels * kH * kW: PyTorch's default,
 * `kaiming_uniform_(a=sqrt(5))` for the weight (bound = sqrt(6 / ((1 + a^2) fanIn))) and the
 * same bound for the bias. Weight is drawn first, then bias.
 * @example
 * const conv = new Conv2d(1, 8, 3, { padding: 1, rng: new RNG(0) }); // (N, 1, 28, 28) -> (N, 8, 28, 28)
 */
export class Conv2d extends Module {
  static override readonly displayName: string = 'Conv2d';
  weight: Parameter;
  bias: Parameter | null;
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly dilation: [number, number];

  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    kernelSize: Size2,
    options: Conv2dModuleOptions = {},
  ) {
    super();
    checkSize('Conv2d', 'inChannels', inChannels);
    checkSize('Conv2d', 'outChannels', outChannels);
    checkOptions('Conv2d', options, ['stride', 'padding', 'dilation', 'bias', 'rng', 'dtype']);
    this.kernelSize = pair(kernelSize, 'kernel_size');
    this.stride = pair(options.stride ?? 1, 'stride');
    this.padding = pair(options.padding ?? 0, 'padding');
    this.dilation = pair(options.dilation ?? 1, 'dilation');
    const [kH, kW] = this.kernelSize;
    if (kH <= 0 || kW <= 0) throw new RangeError(`Conv2d: kernel_size must be positive (got [${kH}, ${kW}])`);
    if (this.stride.some((s) => s <= 0)) throw new RangeError('non-positive stride is not supported');
    if (this.padding.some((p) => p < 0)) throw new RangeError('negative padding is not supported');
    if (this.dilation.some((d) => d <= 0)) throw new RangeError('non-positive dilation is not supported');
    const rng = options.rng ?? getDefaultRng();
    const dtype = checkFloatDtype('Conv2d', options.dtype ?? 'float32');
    const bound = 1 / Math.sqrt(inChannels * kH * kW);
    this.weight = new Parameter(rand([outChannels, inChannels, kH, kW], { rng, dtype, low: -bound, high: bound }));
    this.bias = options.bias === false ? null : new Parameter(rand([outChannels], { rng, dtype, low: -bound, high: bound }));
  }

  forward(x: Tensor): Tensor {
    return conv2d(x, this.weight, this.bias, { stride: this.stride, padding: this.padding, dilation: this.dilation });
  }

  override toString(): string {
    return `Conv2d(${this.inChannels}, ${this.outChannels}, kernelSize=[${this.kernelSize}], stride=[${this.stride}], padding=[${this.padding}]` +
      `${this.dilation.some((d) => d !== 1) ? `, dilation=[${this.dilation}]` : ''}, bias=${this.bias !== null})`;
  }
}

/**
 * 2-D max pooling layer (PyTorch's `nn.MaxPool2d`, `ceil_mode=False`); see `maxPool2d`.
 * `stride` defaults to `kernelSize`.
 * @example const pool = new MaxPool2d(2); // (N, C, 28, 28) -> (N, C, 14, 14)
 */
export class MaxPool2d extends Module {
  static override readonly displayName: string = 'MaxPool2d';
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly dilation: [number, number];

  /** PyTorch's order: `nn.MaxPool2d(kernel_size, stride, padding, dilation, return_indices, ceil_mode)`; the last two must stay false. */
  constructor(kernelSize: Size2, stride: Size2 | null = null, padding: Size2 = 0, dilation: Size2 = 1, returnIndices = false, ceilMode = false) {
    super();
    unsupportedPoolOptions('MaxPool2d', ceilMode, returnIndices);
    this.kernelSize = pair(kernelSize, 'kernel_size');
    this.stride = pair(stride ?? kernelSize, 'stride');
    this.padding = pair(padding, 'padding');
    this.dilation = pair(dilation, 'dilation');
  }

  forward(x: Tensor): Tensor {
    return maxPool2d(x, this.kernelSize, this.stride, this.padding, this.dilation);
  }

  override toString(): string {
    return `MaxPool2d(kernelSize=[${this.kernelSize}], stride=[${this.stride}], padding=[${this.padding}])`;
  }
}
