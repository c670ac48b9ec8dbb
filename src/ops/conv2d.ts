import { record } from '../autograd/tape.js';
import { kernels, type Conv2dDims } from '../kernels/index.js';
import { allocateOutput, Tensor } from '../tensor/tensor.js';
import { formatShape } from '../tensor/shape.js';
import { expectTensors, floatDtype } from './util.js';
import { checkOptions } from '../describe.js';

/** A size given once for both spatial dims (`3`) or per dim (`[3, 5]`: height, width). */
export type Size2 = number | readonly [number, number];

/** Expands `3` to `[3, 3]`, checking the values are integers. */
export function pair(value: Size2, name: string): [number, number] {
  const p: [number, number] = typeof value === 'number' ? [value, value] : [value[0], value[1]];
  if ((typeof value !== 'number' && value.length !== 2) || !p.every(Number.isInteger)) {
    throw new TypeError(`${name} must be an integer or a pair of integers (got ${JSON.stringify(value)})`);
  }
  return p;
}

export interface Conv2dOptions {
  /** Step between applications of the kernel (default 1). */
  stride?: Size2 | undefined;
  /** Zeros added on both sides of each spatial dim (default 0). */
  padding?: Size2 | undefined;
  /** Spacing between kernel elements (default 1). */
  dilation?: Size2 | undefined;
}

/**
 * 2-D convolution (cross-correlation, as in every deep-learning library), like `F.conv2d` with
 * groups = 1:
 *
 *   y[n, co, oh, ow] = bias[co] + sum_{ci, i, j} weight[co, ci, i, j] * x[n, ci, oh*sH - pH + i*dH, ow*sW - pW + j*dW]
 *
 * Shapes: x (N, C_in, H, W) or unbatched (C_in, H, W); weight (C_out, C_in, kH, kW); bias (C_out)
 * or null; y (N, C_out, H_out, W_out) with H_out = floor((H + 2 pH - dH (kH - 1) - 1) / sH) + 1.
 * Gradients flow to x, weight and bias.
 * @example
 * const y = conv2d(x, weight, bias, { stride: 1, padding: 1 }); // 3x3 kernel, same size out
 */
export function conv2d(x: Tensor, weight: Tensor, bias: Tensor | null = null, options: Conv2dOptions = {}): Tensor {
  expectTensors('conv2d', { input: x, weight, bias }, ['bias']);
  checkOptions('conv2d', options, ['stride', 'padding', 'dilation']);
  const dtype = bias ? floatDtype('conv2d', x, weight, bias) : floatDtype('conv2d', x, weight);
  const [strideH, strideW] = pair(options.stride ?? 1, 'stride');
  const [padH, padW] = pair(options.padding ?? 0, 'padding');
  const [dilationH, dilationW] = pair(options.dilation ?? 1, 'dilation');
  if (strideH <= 0 || strideW <= 0) throw new RangeError('non-positive stride is not supported');
  if (padH < 0 || padW < 0) throw new RangeError('negative padding is not supported');
  if (dilationH <= 0 || dilationW <= 0) throw new RangeError('non-positive dilation is not supported');
  if (x.ndim !== 3 && x.ndim !== 4) {
    throw new RangeError(`Expected 3D (unbatched) or 4D (batched) input to conv2d, but got input of size: ${formatShape(x.shape)}`);
  }
  if (weight.ndim !== 4) {
    throw new RangeError(`Expected 4D weight (out_channels, in_channels, kH, kW) for conv2d, but got weight of size: ${formatShape(weight.shape)}`);
  }
  const batched = x.ndim === 4;
  const shape4 = batched ? x.shape : [1, ...x.shape];
  const [n, cIn, h, w] = shape4;
  const [cOut, wIn, kH, kW] = weight.shape;
  if (wIn !== cIn) {
    // Channels in the last dim: Keras / TF.js data, (N, H, W, C).
    const hint = x.shape[x.ndim - 1] === wIn
      ? ` (channels-last input? conv2d takes ${batched ? '(N, C, H, W): x.permute(0, 3, 1, 2)' : '(C, H, W): x.permute(2, 0, 1)'} reorders a channels-last one)`
      : '';
    throw new RangeError(
      `Given groups=1, weight of size ${formatShape(weight.shape)}, expected input${formatShape(shape4)} to have ${wIn} channels, but got ${cIn} channels instead${hint}`,
    );
  }
  if (bias && (bias.ndim !== 1 || bias.shape[0] !== cOut)) {
    throw new RangeError(
      `Given weight of size ${formatShape(weight.shape)}, expected bias to be 1-dimensional with ${cOut} elements, but got bias of size ${formatShape(bias.shape)} instead`,
    );
  }
  const spanH = dilationH * (kH - 1) + 1;
  const spanW = dilationW * (kW - 1) + 1;
  if (h + 2 * padH < spanH || w + 2 * padW < spanW) {
    throw new RangeError(
      `Calculated padded input size per channel: (${h + 2 * padH} x ${w + 2 * padW}). Kernel size: (${spanH} x ${spanW}). Kernel size can't be greater than actual input size`,
    );
  }
  const outH = Math.floor((h + 2 * padH - spanH) / strideH) + 1;
  const outW = Math.floor((w + 2 * padW - spanW) / strideW) + 1;
  const dims: Conv2dDims = { n, cIn, h, w, cOut, kH, kW, strideH, strideW, padH, padW, dilationH, dilationW, outH, outW };

  const y = allocateOutput(dtype, n * cOut * outH * outW);
  kernels().conv2dForward(x.data, weight.data, bias?.data ?? null, dims, y);
  const outShape = batched ? [n, cOut, outH, outW] : [cOut, outH, outW];
  const inputs = bias ? [x, weight, bias] : [x, weight];
  return record(new Tensor(y, outShape, dtype), 'ConvolutionBackward', inputs, (g) => {
    const dx = x.requiresGrad ? allocateOutput(dtype, x.size) : null;
    const dWeight = weight.requiresGrad ? allocateOutput(dtype, weight.size) : null;
    const dBias = bias?.requiresGrad ? allocateOutput(dtype, cOut) : null;
    kernels().conv2dBackward(g, x.data, weight.data, dims, dx, dWeight, dBias);
    return bias ? [dx, dWeight, dBias] : [dx, dWeight];
  }, [x, weight]);
}
