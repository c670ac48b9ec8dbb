import type { Conv2dDims, FloatArray, Pool2dDims } from '../types.js';
import { matmul } from './matmul.js';

// The reference convolution and pooling kernels: the definition every faster backend is tested
// against. Convolution is im2col + matmul, one sample at a time: the sample's receptive fields
// are unrolled into a (cIn*kH*kW) x (outH*outW) matrix `cols`, and the convolution becomes
// weight (cOut x cIn*kH*kW) @ cols. Every sum is accumulated in float64 (the matmul's
// accumulators, then float64 scratch buffers) and rounded once on the final write.

/** Unrolls sample `n` of x into cols (K x P), K = cIn*kH*kW, P = outH*outW; zeros for padding. */
function im2col(x: FloatArray, n: number, d: Conv2dDims, cols: FloatArray): void {
  const { cIn, h, w, kH, kW, strideH, strideW, padH, padW, outH, outW } = d;
  const dilH = d.dilationH ?? 1;
  const dilW = d.dilationW ?? 1;
  const P = outH * outW;
  let row = 0;
  for (let ci = 0; ci < cIn; ci++) {
    const plane = (n * cIn + ci) * h * w;
    for (let i = 0; i < kH; i++) {
      for (let j = 0; j < kW; j++, row++) {
        const base = row * P;
        for (let oh = 0; oh < outH; oh++) {
          const ih = oh * strideH - padH + i * dilH;
          const o = base + oh * outW;
          if (ih < 0 || ih >= h) {
            cols.fill(0, o, o + outW);
            continue;
          }
          const xr = plane + ih * w;
          for (let ow = 0; ow < outW; ow++) {
            const iw = ow * strideW - padW + j * dilW;
            cols[o + ow] = iw >= 0 && iw < w ? x[xr + iw] : 0;
          }
        }
      }
    }
  }
}

/** The adjoint of im2col: adds each column entry back onto the input position it was read from. */
function col2imAdd(cols: Float64Array, d: Conv2dDims, acc: Float64Array): void {
  const { cIn, h, w, kH, kW, strideH, strideW, padH, padW, outH, outW } = d;
  const dilH = d.dilationH ?? 1;
  const dilW = d.dilationW ?? 1;
  const P = outH * outW;
  let row = 0;
  for (let ci = 0; ci < cIn; ci++) {
    const plane = ci * h * w;
    for (let i = 0; i < kH; i++) {
      for (let j = 0; j < kW; j++, row++) {
        const base = row * P;
        for (let oh = 0; oh < outH; oh++) {
          const ih = oh * strideH - padH + i * dilH;
          if (ih < 0 || ih >= h) continue;
          const xr = plane + ih * w;
          const o = base + oh * outW;
          for (let ow = 0; ow < outW; ow++) {
            const iw = ow * strideW - padW + j * dilW;
            if (iw >= 0 && iw < w) acc[xr + iw] += cols[o + ow];
          }
        }
      }
    }
  }
}

export function conv2dForward(x: FloatArray, weight: FloatArray, bias: FloatArray | null, d: Conv2dDims, y: FloatArray): void {
  const { n, cIn, kH, kW, cOut, outH, outW } = d;
  const K = cIn * kH * kW;
  const P = outH * outW;
  const cols = new Float64Array(K * P);
  const acc = new Float64Array(cOut * P);
  for (let s = 0; s < n; s++) {
    im2col(x, s, d, cols);
    matmul(weight, cols, acc, cOut, K, P, false, false);
    const yo = s * cOut * P;
    for (let co = 0; co < cOut; co++) {
      const b = bias ? bias[co] : 0;
      const r = co * P;
      for (let p = 0; p < P; p++) y[yo + r + p] = acc[r + p] + b;
    }
  }
}

export function conv2dBackward(
  dy: FloatArray, x: FloatArray, weight: FloatArray, d: Conv2dDims,
  dx: FloatArray | null, dWeight: FloatArray | null, dBias: FloatArray | null,
): void {
  const { n, cIn, h, w, kH, kW, cOut, outH, outW } = d;
  const K = cIn * kH * kW;
  const P = outH * outW;
  const cols = new Float64Array(K * P);
  const dCols = new Float64Array(K * P);
  const dxAcc = new Float64Array(cIn * h * w);
  const dwSample = new Float64Array(cOut * K);
  const dwAcc = new Float64Array(dWeight ? cOut * K : 0);
  const dbAcc = new Float64Array(cOut);
  for (let s = 0; s < n; s++) {
    const dys = dy.subarray(s * cOut * P, (s + 1) * cOut * P);
    if (dBias) {
      for (let co = 0; co < cOut; co++) {
        let sum = 0;
        for (let p = 0; p < P; p++) sum += dys[co * P + p];
        dbAcc[co] += sum;
      }
    }
    if (dWeight) {
      // dW += dy_s (cOut x P) @ cols_s^T (P x K)
      im2col(x, s, d, cols);
      matmul(dys, cols, dwSample, cOut, P, K, false, true);
      for (let k = 0; k < dwAcc.length; k++) dwAcc[k] += dwSample[k];
    }
    if (dx) {
      // dCols = W^T (K x cOut) @ dy_s (cOut x P), then fold back onto the input positions.
      matmul(weight, dys, dCols, K, cOut, P, true, false);
      dxAcc.fill(0);
      col2imAdd(dCols, d, dxAcc);
      dx.set(dxAcc, s * cIn * h * w);
    }
  }
  if (dWeight) dWeight.set(dwAcc);
  if (dBias) dBias.set(dbAcc);
}

export function maxPool2dForward(x: FloatArray, d: Pool2dDims, y: FloatArray, indices: Int32Array): void {
  const { n, c, h, w, kH, kW, strideH, strideW, padH, padW, outH, outW } = d;
  const dilH = d.dilationH ?? 1;
  const dilW = d.dilationW ?? 1;
  for (let plane = 0; plane < n * c; plane++) {
    const xo = plane * h * w;
    const yo = plane * outH * outW;
    for (let oh = 0; oh < outH; oh++) {
      // PyTorch's window: start at oh*s - pad, step past the padding by whole dilations.
      let hStart = oh * strideH - padH;
      const hEnd = Math.min(hStart + (kH - 1) * dilH + 1, h);
      while (hStart < 0) hStart += dilH;
      for (let ow = 0; ow < outW; ow++) {
        let wStart = ow * strideW - padW;
        const wEnd = Math.min(wStart + (kW - 1) * dilW + 1, w);
        while (wStart < 0) wStart += dilW;
        let maxIndex = hStart * w + wStart;
        let maxVal = -Infinity;
        for (let ih = hStart; ih < hEnd; ih += dilH) {
          for (let iw = wStart; iw < wEnd; iw += dilW) {
            const idx = ih * w + iw;
            const v = x[xo + idx];
            // Strictly greater: the first maximum wins ties. NaN propagates, as in PyTorch.
            if (v > maxVal || Number.isNaN(v)) {
              maxVal = v;
              maxIndex = idx;
            }
          }
        }
        y[yo + oh * outW + ow] = maxVal;
        indices[yo + oh * outW + ow] = maxIndex;
      }
    }
  }
}

export function maxPool2dBackward(dy: FloatArray, indices: Int32Array, d: Pool2dDims, dx: FloatArray): void {
  const { n, c, h, w, outH, outW } = d;
  const inPlane = h * w;
  const outPlane = outH * outW;
  dx.fill(0);
  for (let plane = 0; plane < n * c; plane++) {
    const xo = plane * inPlane;
    const yo = plane * outPlane;
    // Overlapping windows (stride < kernel) may share an argmax: their gradients add.
    for (let o = 0; o < outPlane; o++) dx[xo + indices[yo + o]] += dy[yo + o];
  }
}
