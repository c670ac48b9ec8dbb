import type { BNDims, FloatArray } from '../types.js';

// The reference channels-last BatchNorm kernels: x is (N, S, C), so channel ch is every C-th
// element. The same arithmetic as ./batchnorm.ts (float64, exact two-pass statistics,
// (x - mean) * scale + bias), only the indexing differs.

export function batchNormTrainForwardNHWC(
  x: FloatArray, { n, c, s }: BNDims, weight: FloatArray | null, bias: FloatArray | null, eps: number,
  y: FloatArray, mean: Float64Array, invStd: Float64Array, variance: Float64Array,
): void {
  const rows = n * s;
  const sum = new Float64Array(c);
  for (let r = 0; r < rows; r++) for (let ch = 0; ch < c; ch++) sum[ch] += x[r * c + ch];
  for (let ch = 0; ch < c; ch++) mean[ch] = sum[ch] / rows;
  const sq = new Float64Array(c);
  for (let r = 0; r < rows; r++) {
    for (let ch = 0; ch < c; ch++) {
      const d = x[r * c + ch] - mean[ch];
      sq[ch] += d * d;
    }
  }
  for (let ch = 0; ch < c; ch++) {
    variance[ch] = sq[ch] / rows;
    invStd[ch] = 1 / Math.sqrt(variance[ch] + eps);
  }
  normalize(x, rows, c, mean, invStd, weight, bias, y);
}

export function batchNormInferForwardNHWC(
  x: FloatArray, { n, c, s }: BNDims, mean: FloatArray, variance: FloatArray,
  weight: FloatArray | null, bias: FloatArray | null, eps: number, y: FloatArray,
): void {
  const invStd = new Float64Array(c);
  for (let ch = 0; ch < c; ch++) invStd[ch] = 1 / Math.sqrt(variance[ch] + eps);
  normalize(x, n * s, c, mean, invStd, weight, bias, y);
}

function normalize(
  x: FloatArray, rows: number, c: number, mean: FloatArray, invStd: Float64Array,
  weight: FloatArray | null, bias: FloatArray | null, y: FloatArray,
): void {
  const scale = new Float64Array(c);
  for (let ch = 0; ch < c; ch++) scale[ch] = invStd[ch] * (weight ? weight[ch] : 1);
  for (let r = 0; r < rows; r++) {
    for (let ch = 0; ch < c; ch++) {
      const i = r * c + ch;
      y[i] = (x[i] - mean[ch]) * scale[ch] + (bias ? bias[ch] : 0);
    }
  }
}

export function batchNormBackwardNHWC(
  dy: FloatArray, x: FloatArray, { n, c, s }: BNDims, mean: FloatArray, invStd: Float64Array,
  weight: FloatArray | null, training: boolean,
  dx: FloatArray | null, dWeight: FloatArray | null, dBias: FloatArray | null,
): void {
  const rows = n * s;
  const sumDy = new Float64Array(c);
  const sumDyXhat = new Float64Array(c);
  for (let r = 0; r < rows; r++) {
    for (let ch = 0; ch < c; ch++) {
      const i = r * c + ch;
      sumDy[ch] += dy[i];
      sumDyXhat[ch] += dy[i] * (x[i] - mean[ch]);
    }
  }
  for (let ch = 0; ch < c; ch++) {
    sumDyXhat[ch] *= invStd[ch];
    if (dBias) dBias[ch] = sumDy[ch];
    if (dWeight) dWeight[ch] = sumDyXhat[ch];
  }
  if (!dx) return;
  for (let r = 0; r < rows; r++) {
    for (let ch = 0; ch < c; ch++) {
      const i = r * c + ch;
      const scale = invStd[ch] * (weight ? weight[ch] : 1);
      if (training) {
        const xHat = (x[i] - mean[ch]) * invStd[ch];
        dx[i] = scale * (dy[i] - sumDy[ch] / rows - xHat * (sumDyXhat[ch] / rows));
      } else {
        dx[i] = scale * dy[i];
      }
    }
  }
}
