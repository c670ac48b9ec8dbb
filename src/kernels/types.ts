/**
 * The kernel table: every heavy loop the ops run goes through one of these functions.
 *
 * `ref` (plain TypeScript) is the definition and implements all of them; faster backends
 * (WebAssembly SIMD, worker threads) may implement any subset and fall back to `ref` for the
 * rest. Kernels take raw typed arrays and sizes, never Tensors, so they can run anywhere
 * (a worker, a wasm module) and are tested on their own by the conformance suite.
 *
 * Layout conventions:
 * - BatchNorm kernels see the input as (N, C, S), row-major, where S is the product of the
 *   spatial sizes (1 for (N, C), L for (N, C, L), H*W for (N, C, H, W), ...). That is NCHW.
 * - Matrices are row-major.
 * Outputs are always overwritten, never accumulated into.
 */
export type FloatArray = Float32Array | Float64Array;

/** Sizes of a BatchNorm input seen as (N, C, S). */
export interface BNDims {
  n: number;
  c: number;
  s: number;
}

/**
 * Sizes of a 2-D convolution, NCHW: input x (n, cIn, h, w), weight (cOut, cIn, kH, kW),
 * output y (n, cOut, outH, outW), groups = 1. Output position (oh, ow) reads input row
 * `oh * strideH - padH + i * dilationH` for kernel row i (columns likewise); positions outside
 * the input are zeros. Dilations default to 1. `outH = floor((h + 2 padH - dilationH (kH - 1) - 1) / strideH) + 1`.
 */
export interface Conv2dDims {
  n: number;
  cIn: number;
  h: number;
  w: number;
  cOut: number;
  kH: number;
  kW: number;
  strideH: number;
  strideW: number;
  padH: number;
  padW: number;
  dilationH?: number;
  dilationW?: number;
  outH: number;
  outW: number;
}

/**
 * Sizes of a 2-D max pooling, NCHW: input (n, c, h, w) -> output (n, c, outH, outW), windows of
 * kH x kW with the given strides, implicit -infinity padding and dilations (default 1), as in
 * `F.max_pool2d` with `ceil_mode=False`.
 */
export interface Pool2dDims {
  n: number;
  c: number;
  h: number;
  w: number;
  kH: number;
  kW: number;
  strideH: number;
  strideW: number;
  padH: number;
  padW: number;
  dilationH?: number;
  dilationW?: number;
  outH: number;
  outW: number;
}

export interface Kernels {
  /**
   * Training-mode forward: per channel c, the mean and biased variance over the N*S values,
   * then `y = (x - mean) * invStd * weight + bias` with `invStd = 1 / sqrt(var + eps)`.
   * Statistics must be numerically stable (a two-pass or Welford scheme with wide
   * accumulators), so `1e4 + 1e-2 * noise` gives the right variance.
   * Writes y (size N*C*S), mean, invStd and biased variance (size C each, float64 whatever the
   * input's dtype: per-channel statistics are tiny and keep their digits).
   * `weight`/`bias` null mean 1 and 0 (affine = false).
   */
  batchNormTrainForward(
    x: FloatArray, dims: BNDims, weight: FloatArray | null, bias: FloatArray | null, eps: number,
    y: FloatArray, mean: Float64Array, invStd: Float64Array, variance: Float64Array,
  ): void;

  /** Inference forward with given statistics: `y = (x - mean) / sqrt(var + eps) * weight + bias`. */
  batchNormInferForward(
    x: FloatArray, dims: BNDims, mean: FloatArray, variance: FloatArray,
    weight: FloatArray | null, bias: FloatArray | null, eps: number, y: FloatArray,
  ): void;

  /**
   * Backward of either forward, in closed form (PyTorch's native_batch_norm_backward).
   * With xHat = (x - mean) * invStd and g = weight (1 if null):
   *   dBias   = sum(dy)                     dWeight = sum(dy * xHat)
   *   training:  dx = g * invStd * (dy - dBias / M - xHat * dWeight / M),  M = N * S
   *   inference: dx = g * invStd * dy   (the statistics are constants)
   * `mean`/`invStd` are the saved batch statistics (training) or the running ones (inference).
   * Any of dx, dWeight, dBias may be null when not wanted.
   */
  batchNormBackward(
    dy: FloatArray, x: FloatArray, dims: BNDims, mean: FloatArray, invStd: Float64Array,
    weight: FloatArray | null, training: boolean,
    dx: FloatArray | null, dWeight: FloatArray | null, dBias: FloatArray | null,
  ): void;

  /**
   * `batchNormTrainForward` for channels-last input: x is (N, S, C) row-major (NHWC for images),
   * so channel c is every C-th element. Same outputs and statistics.
   */
  batchNormTrainForwardNHWC(
    x: FloatArray, dims: BNDims, weight: FloatArray | null, bias: FloatArray | null, eps: number,
    y: FloatArray, mean: Float64Array, invStd: Float64Array, variance: Float64Array,
  ): void;

  /** `batchNormInferForward` for channels-last (N, S, C) input. */
  batchNormInferForwardNHWC(
    x: FloatArray, dims: BNDims, mean: FloatArray, variance: FloatArray,
    weight: FloatArray | null, bias: FloatArray | null, eps: number, y: FloatArray,
  ): void;

  /** `batchNormBackward` for channels-last (N, S, C) input. */
  batchNormBackwardNHWC(
    dy: FloatArray, x: FloatArray, dims: BNDims, mean: FloatArray, invStd: Float64Array,
    weight: FloatArray | null, training: boolean,
    dx: FloatArray | null, dWeight: FloatArray | null, dBias: FloatArray | null,
  ): void;

  /**
   * out (m x n) = op(a) @ op(b) (+ bias), where op(a) is (m x k) and op(b) is (k x n).
   * transA: a is stored (k x m); transB: b is stored (n x k). `bias` (n), when given, is added
   * to every row after the sum (Linear's `x @ W^T + b`).
   */
  matmul(
    a: FloatArray, b: FloatArray, out: FloatArray, m: number, k: number, n: number,
    transA: boolean, transB: boolean, bias?: FloatArray | null,
  ): void;

  /**
   * 2-D cross-correlation (PyTorch's conv2d, groups = 1):
   *   y[n, co, oh, ow] = bias[co] + sum_{ci, i, j} weight[co, ci, i, j] * x[n, ci, oh*sH - pH + i*dH, ow*sW - pW + j*dW]
   * with zeros outside the input. `bias` null means 0. Writes y (n * cOut * outH * outW).
   */
  conv2dForward(x: FloatArray, weight: FloatArray, bias: FloatArray | null, dims: Conv2dDims, y: FloatArray): void;

  /**
   * Gradients of `conv2dForward` given dy (n, cOut, outH, outW):
   *   dx = the transposed convolution of dy with weight (each input element collects every
   *        output it contributed to),
   *   dWeight[co, ci, i, j] = sum_{n, oh, ow} dy[n, co, oh, ow] * x[n, ci, oh*sH - pH + i*dH, ...],
   *   dBias[co] = sum_{n, oh, ow} dy[n, co, oh, ow].
   * Any of dx, dWeight, dBias may be null when not wanted.
   */
  conv2dBackward(
    dy: FloatArray, x: FloatArray, weight: FloatArray, dims: Conv2dDims,
    dx: FloatArray | null, dWeight: FloatArray | null, dBias: FloatArray | null,
  ): void;

  /**
   * Max pooling: y = the maximum of each window, and `indices` (same size as y) = the position
   * of that maximum in its (h, w) plane, `row * w + col`, as PyTorch's `return_indices`. Ties go
   * to the first maximum in row-major window order; a NaN in the window wins (the result is NaN).
   */
  maxPool2dForward(x: FloatArray, dims: Pool2dDims, y: FloatArray, indices: Int32Array): void;

  /** dx (n, c, h, w) = zeros plus each dy added at its window's argmax (`indices` from the forward). */
  maxPool2dBackward(dy: FloatArray, indices: Int32Array, dims: Pool2dDims, dx: FloatArray): void;

  /** y = sigmoid(x) = 1 / (1 + exp(-x)), elementwise. */
  sigmoid(x: FloatArray, y: FloatArray): void;
  /** dx = dy * y * (1 - y), where y = sigmoid(x). */
  sigmoidBackward(y: FloatArray, dy: FloatArray, dx: FloatArray): void;
  /** y = x < 0 ? 0 : x (PyTorch: NaN stays NaN, -0 stays -0). */
  relu(x: FloatArray, y: FloatArray): void;
  /** dx = 0 where x <= 0, else dy (PyTorch: 0 at 0; NaN passes dy). */
  reluBackward(x: FloatArray, dy: FloatArray, dx: FloatArray): void;
  /** y = tanh(x). */
  tanh(x: FloatArray, y: FloatArray): void;
  /** dx = dy * (1 - y^2), where y = tanh(x). */
  tanhBackward(y: FloatArray, dy: FloatArray, dx: FloatArray): void;

  /**
   * out[j] = sum over rows r of x[r * cols + j] (float64 accumulation): the gradient of a bias
   * broadcast over rows (Linear's). Writes out (cols).
   */
  columnSums(x: FloatArray, rows: number, cols: number, out: FloatArray): void;

  /**
   * One SGD update in place, PyTorch's `torch.optim.SGD` on one parameter:
   *   g = grad + weightDecay * w
   *   with a momentum buffer: buf = first ? g : momentum * buf + (1 - dampening) * g,
   *                           g = nesterov ? g + momentum * buf : buf
   *   w -= lr * g
   * `buf` null: no momentum (the buffer is not touched). Arrays share one dtype.
   */
  sgdStep(w: FloatArray, grad: FloatArray, buf: FloatArray | null, h: SgdHyper): void;

  /**
   * One Adam update in place, PyTorch's `torch.optim.Adam` on one parameter (L2 weight decay):
   *   g = grad + weightDecay * w;  m = beta1 m + (1 - beta1) g;  v = beta2 v + (1 - beta2) g^2
   *   w -= stepSize * m / (sqrt(v) / bc2Sqrt + eps)
   * with stepSize = lr / (1 - beta1^t) and bc2Sqrt = sqrt(1 - beta2^t) computed by the caller.
   */
  adamStep(w: FloatArray, grad: FloatArray, m: FloatArray, v: FloatArray, h: AdamHyper): void;
}

/** Hyper-parameters of one `sgdStep`. */
export interface SgdHyper {
  lr: number;
  momentum: number;
  dampening: number;
  weightDecay: number;
  nesterov: boolean;
  /** The buffer's first update (it takes g as it is). */
  first: boolean;
}

/** Hyper-parameters of one `adamStep` (bias corrections of step t folded in by the caller). */
export interface AdamHyper {
  stepSize: number;
  bc2Sqrt: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

export type KernelName = keyof Kernels;

/** A backend: a name and any subset of the kernels (the rest fall back to `ref`). */
export interface Backend {
  name: string;
  kernels: Partial<Kernels>;
  /**
   * Tensor storage for this backend (e.g. inside WebAssembly memory, so kernels need no copy),
   * zero-filled unless `zero` is false (storage a kernel overwrites). Absent: ordinary typed
   * arrays.
   */
  allocate?(float32: boolean, size: number, zero?: boolean): FloatArray;
  /**
   * Takes back storage from `allocate` that nothing can reach any more, before the garbage
   * collector would (which, in a long synchronous loop, is never). Absent: nothing to do.
   */
  release?(storage: FloatArray): void;
  /** Sets the number of threads its kernels split work over. */
  setNumThreads?(n: number): void;
  /** The number of threads its kernels split work over. */
  getNumThreads?(): number;
  /** How it runs here, for `backendInfo`. */
  info?(): { sharedMemory: boolean; relaxedSimd: boolean; limits: string[] };
  /** Resolves once its threads have started or failed (`ready()`). Absent: ready at once. */
  ready?(): Promise<void>;
}
