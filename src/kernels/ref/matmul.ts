import type { FloatArray } from '../types.js';

/**
 * out (m x n) = op(a) @ op(b). Plain loops with float64 accumulation, ordered so that the
 * innermost loop walks memory contiguously in each of the four transpose cases.
 */
export function matmul(
  a: FloatArray, b: FloatArray, out: FloatArray, m: number, k: number, n: number,
  transA: boolean, transB: boolean, bias: FloatArray | null = null,
): void {
  product(a, b, out, m, k, n, transA, transB);
  if (bias) {
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) out[i * n + j] += bias[j];
  }
}

/** out[j] = sum_r x[r, j], float64 accumulation. */
export function columnSums(x: FloatArray, rows: number, cols: number, out: FloatArray): void {
  const acc = new Float64Array(cols);
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    for (let j = 0; j < cols; j++) acc[j] += x[o + j];
  }
  out.set(acc);
}

function product(
  a: FloatArray, b: FloatArray, out: FloatArray, m: number, k: number, n: number, transA: boolean, transB: boolean,
): void {
  if (transB) {
    // out[i, j] = sum_p opA[i, p] * b[j, p]: a dot product of two contiguous rows when !transA.
    const row = new Float64Array(k);
    for (let i = 0; i < m; i++) {
      if (transA) for (let p = 0; p < k; p++) row[p] = a[p * m + i];
      else for (let p = 0; p < k; p++) row[p] = a[i * k + p];
      for (let j = 0; j < n; j++) {
        let acc = 0;
        const bj = j * k;
        for (let p = 0; p < k; p++) acc += row[p] * b[bj + p];
        out[i * n + j] = acc;
      }
    }
    return;
  }
  // out[i, :] = sum_p opA[i, p] * b[p, :]: axpy over contiguous rows of b.
  const acc = new Float64Array(n);
  for (let i = 0; i < m; i++) {
    acc.fill(0);
    for (let p = 0; p < k; p++) {
      const av = transA ? a[p * m + i] : a[i * k + p];
      if (av === 0) continue;
      const bp = p * n;
      for (let j = 0; j < n; j++) acc[j] += av * b[bp + j];
    }
    const oi = i * n;
    for (let j = 0; j < n; j++) out[oi + j] = acc[j];
  }
}
