import type { BNDims, FloatArray } from '../types.js';

// The reference BatchNorm kernels: the definition every faster backend is tested against.
// JavaScript numbers are float64, so every accumulator here is float64, and the variance is
// computed in two passes (mean first, then squared deviations) instead of E[x^2] - E[x]^2,
// which loses every digit when the mean is large compared with the spread.

export function batchNormTrainForward(
  x: FloatArray, { n, c, s }: BNDims, weight: FloatArray | null, bias: FloatArray | null, eps: number,
  y: FloatArray, mean: Float64Array, invStd: Float64Array, variance: Float64Array,
): void {
  const count = n * s;
  const stride = c * s;
  for (let ch = 0; ch < c; ch++) {
    let sum = 0;
    for (let i = 0; i < n; i++) {
      const base = i * stride + ch * s;
      for (let j = 0; j < s; j++) sum += x[base + j];
    }
    const m = sum / count;
    let sq = 0;
    for (let i = 0; i < n; i++) {
      const base = i * stride + ch * s;
      for (let j = 0; j < s; j++) {
        const d = x[base + j] - m;
        sq += d * d;
      }
    }
    const v = sq / count;
    const is = 1 / Math.sqrt(v + eps);
    mean[ch] = m;
    variance[ch] = v;
    invStd[ch] = is;
    normalizeChannel(x, n, s, stride, ch, m, is, weight, bias, y);
  }
}

export function batchNormInferForward(
  x: FloatArray, { n, c, s }: BNDims, mean: FloatArray, variance: FloatArray,
  weight: FloatArray | null, bias: FloatArray | null, eps: number, y: FloatArray,
): void {
  const stride = c * s;
  for (let ch = 0; ch < c; ch++) {
    normalizeChannel(x, n, s, stride, ch, mean[ch], 1 / Math.sqrt(variance[ch] + eps), weight, bias, y);
  }
}

function normalizeChannel(
  x: FloatArray, n: number, s: number, stride: number, ch: number, m: number, is: number,
  weight: FloatArray | null, bias: FloatArray | null, y: FloatArray,
): void {
  // (x - mean) * scale + bias rather than x * scale + shift: the subtraction first keeps the
  // digits of a small spread around a large mean (x * scale + shift cancels catastrophically).
  const scale = is * (weight ? weight[ch] : 1);
  const b = bias ? bias[ch] : 0;
  for (let i = 0; i < n; i++) {
    const base = i * stride + ch * s;
    for (let j = 0; j < s; j++) y[base + j] = (x[base + j] - m) * scale + b;
  }
}

export function batchNormBackward(
  dy: FloatArray, x: FloatArray, { n, c, s }: BNDims, mean: FloatArray, invStd: Float64Array,
  weight: FloatArray | null, training: boolean,
  dx: FloatArray | null, dWeight: FloatArray | null, dBias: FloatArray | null,
): void {
  const count = n * s;
  const stride = c * s;
  for (let ch = 0; ch < c; ch++) {
    const m = mean[ch];
    const is = invStd[ch];
    let sumDy = 0;
    let sumDyXhat = 0;
    for (let i = 0; i < n; i++) {
      const base = i * stride + ch * s;
      for (let j = 0; j < s; j++) {
        const g = dy[base + j];
        sumDy += g;
        sumDyXhat += g * (x[base + j] - m);
      }
    }
    sumDyXhat *= is;
    if (dBias) dBias[ch] = sumDy;
    if (dWeight) dWeight[ch] = sumDyXhat;
    if (!dx) continue;
    const scale = is * (weight ? weight[ch] : 1);
    if (training) {
      const meanDy = sumDy / count;
      const meanDyXhat = sumDyXhat / count;
      for (let i = 0; i < n; i++) {
        const base = i * stride + ch * s;
        for (let j = 0; j < s; j++) {
          const xHat = (x[base + j] - m) * is;
          dx[base + j] = scale * (dy[base + j] - meanDy - xHat * meanDyXhat);
        }
      }
    } else {
      for (let i = 0; i < n; i++) {
        const base = i * stride + ch * s;
        for (let j = 0; j < s; j++) dx[base + j] = scale * dy[base + j];
      }
    }
  }
}
