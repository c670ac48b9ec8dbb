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
   * out (m x n) = op(a) @ op(b), where op(a) is (m x k) and op(b) is (k x n).
   * transA: a is stored (k x m); transB: b is stored (n x k).
   */
  matmul(
    a: FloatArray, b: FloatArray, out: FloatArray, m: number, k: number, n: number,
    transA: boolean, transB: boolean,
  ): void;

  /** y = sigmoid(x) = 1 / (1 + exp(-x)), elementwise. */
  sigmoid(x: FloatArray, y: FloatArray): void;
  /** dx = dy * y * (1 - y), where y = sigmoid(x). */
  sigmoidBackward(y: FloatArray, dy: FloatArray, dx: FloatArray): void;
  /** y = max(x, 0). */
  relu(x: FloatArray, y: FloatArray): void;
  /** dx = dy where x > 0, else 0 (PyTorch's choice at 0). */
  reluBackward(x: FloatArray, dy: FloatArray, dx: FloatArray): void;
  /** y = tanh(x). */
  tanh(x: FloatArray, y: FloatArray): void;
  /** dx = dy * (1 - y^2), where y = tanh(x). */
  tanhBackward(y: FloatArray, dy: FloatArray, dx: FloatArray): void;
}

export type KernelName = keyof Kernels;

/** A backend: a name and any subset of the kernels (the rest fall back to `ref`). */
export interface Backend {
  name: string;
  kernels: Partial<Kernels>;
}
