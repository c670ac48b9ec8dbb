// The `wasm` backend: WebAssembly SIMD kernels (assembly/kernels.ts), split over threads.
// Float32 only; calls with float64 data (gradient checks) go to the reference kernels, as do
// empty inputs. Arrays outside wasm memory are copied in (and outputs back): correct, slower.
import type { AdamHyper, Backend, BNDims, Conv2dDims, FloatArray, Kernels, Pool2dDims, SgdHyper } from '../types.js';
import { refKernels } from '../ref/index.js';
import { browserPlatform, envInteger, EnvironmentError, MAX_PARTS, WasmRuntime, type ExportName, type Platform } from './runtime.js';
import { isNode, nodePlatform } from './node.js';

/** The runtime, or why there is none (WebAssembly or its SIMD unavailable, compilation refused). */
function createRuntime(platform: Platform | string | null): WasmRuntime | string {
  try {
    if (typeof WebAssembly !== 'object') return 'WebAssembly is not available here';
    const rt = typeof platform === 'string' ? new WasmRuntime(null, platform) : new WasmRuntime(platform, 'Node without process.getBuiltinModule (before 20.16)');
    rt.setNumThreads(envInteger('BATCHNORM_THREADS', 1) ?? rt.defaultThreads());
    return rt;
  } catch (e) {
    if (e instanceof EnvironmentError) throw e;
    const csp = /disallowed|Content Security|unsafe-eval/i.test(String(e)) ? "; a page's Content-Security-Policy must allow 'wasm-unsafe-eval'" : '';
    return `the WebAssembly kernels could not be compiled (${String(e)})${csp}`;
  }
}

const created = createRuntime(isNode() ? nodePlatform() : browserPlatform());

/** The runtime, or null when WebAssembly (SIMD) is unavailable here (`wasmUnavailable` says why). */
export const wasmRuntime: WasmRuntime | null = typeof created === 'string' ? null : created;

/** Why there is no `wasm` backend here, or null when there is one. */
export const wasmUnavailable: string | null = typeof created === 'string' ? created : null;

class OutOfWasmMemory extends Error {}

/** Pointers for one kernel call: arrays outside wasm memory are copied in, outputs copied back. */
class Call {
  private temps: number[] = [];
  private outs: [number, FloatArray][] = [];
  private intOuts: [number, Int32Array][] = [];
  constructor(private rt: WasmRuntime) {}

  scratch(bytes: number): number {
    const p = this.rt.alloc(bytes);
    if (p === 0) throw new OutOfWasmMemory();
    this.temps.push(p);
    return p;
  }

  in(a: FloatArray | null): number {
    if (!a) return 0;
    if (this.rt.owns(a)) return a.byteOffset;
    const p = this.scratch(a.byteLength);
    if (a instanceof Float32Array) this.rt.f32(p, a.length).set(a);
    else this.rt.f64(p, a.length).set(a);
    return p;
  }

  out(a: FloatArray | null): number {
    if (!a) return 0;
    if (this.rt.owns(a)) return a.byteOffset;
    const p = this.scratch(a.byteLength);
    this.outs.push([p, a]);
    return p;
  }

  /** An array updated in place: copied in and back when it lives outside wasm memory. */
  inout(a: FloatArray | null): number {
    if (!a) return 0;
    if (this.rt.owns(a)) return a.byteOffset;
    const p = this.in(a);
    this.outs.push([p, a]);
    return p;
  }

  /** Int32 data (max-pooling indices, geometry): `in` copies it in, `out` copies it back at the end. */
  ints(a: Int32Array, dir: 'in' | 'out'): number {
    if (this.rt.owns(a)) return a.byteOffset;
    const p = this.scratch(a.byteLength);
    if (dir === 'in') new Int32Array(this.rt.memory.buffer, p, a.length).set(a);
    else this.intOuts.push([p, a]);
    return p;
  }

  /** A float64 copy of `a` (statistics may arrive as float32 running statistics). */
  f64(a: ArrayLike<number>): number {
    const p = this.scratch(a.length * 8);
    const v = this.rt.f64(p, a.length);
    for (let i = 0; i < a.length; i++) v[i] = a[i];
    return p;
  }

  finish(): void {
    for (const [p, a] of this.intOuts) a.set(new Int32Array(this.rt.memory.buffer, p, a.length));
    for (const [p, a] of this.outs) {
      a.set(a instanceof Float32Array ? this.rt.f32(p, a.length) : this.rt.f64(p, a.length));
    }
    for (const p of this.temps) this.rt.free(p);
  }

  release(): void {
    for (const p of this.temps) this.rt.free(p);
  }
}

const PAR_MIN_ELEMENTS = 1 << 15; // below this, waking a thread costs more than it saves
// As in assembly/kernels.ts: rows per float32 block of the interleaved sums, and the count under
// which statistics and gradients are summed in float64.
const ROWBLOCK = 16;
const EXACT_COUNT = 16384;
const ROW_PARTS = 8; // parts of an interleaved sums pass (fixed: results independent of threads)
const PAR_MIN_FLOPS = 1 << 19;

/** Splits [0, total) into `parts` contiguous ranges, boundaries multiples of `align`. */
function split(total: number, parts: number, align = 1): [number, number][] {
  const units = Math.ceil(total / align);
  const p = Math.max(1, Math.min(parts, units));
  const out: [number, number][] = [];
  for (let t = 0; t < p; t++) {
    const a = Math.floor((units * t) / p) * align;
    const b = Math.min(total, Math.floor((units * (t + 1)) / p) * align);
    out.push([a, b]);
  }
  return out;
}

function isF32(...arrays: (FloatArray | null)[]): boolean {
  return arrays.every((a) => a === null || a instanceof Float32Array);
}

function makeKernels(rt: WasmRuntime): Partial<Kernels> {
  // Work worth splitting is cut into about 4 parts per thread, claimed by whichever thread is
  // free (see WasmRuntime.run): results depend on the parts, i.e. on the thread count only.
  const partsFor = (work: number, min: number) => {
    const t = work >= min ? rt.numThreads() : 1;
    return t === 1 ? 1 : Math.min(MAX_PARTS, 4 * t);
  };
  const run = (fn: ExportName, parts: number[][]) => rt.run(fn, parts);
  // Planar BatchNorm splits channels, and a part walks each sample's span of its channels in
  // memory order: spans under 128 KiB (many parts of few channels on small planes) cost the
  // prefetcher more than the balancing gains ([256,128,28,28], 2 threads: 8 parts 12.6 ms,
  // 2 parts 11.2 ms). Halve the parts down to one per thread until spans are long enough.
  const planarParts = (n: number, c: number, s: number) => {
    const t = rt.numThreads();
    let p = partsFor(n * c * s, PAR_MIN_ELEMENTS);
    while (p > t && (c / p) * s * 4 < 131072) p = Math.max(t, p >> 1);
    return p;
  };
  // Interleaved layout (rows of C channels: channels-last, or planar with S = 1). Passes split
  // rows at multiples of ROWBLOCK; each part of a sums pass writes its own partial sums (2 C
  // float64), added in part order (bnAddParts). The number of parts depends on the shape only,
  // so the results do not depend on the thread count.
  const rowRanges = (rows: number, c: number) => split(rows, rows * c >= PAR_MIN_ELEMENTS ? ROW_PARTS : 1, ROWBLOCK);
  const rowSplit = (rows: number, c: number) => split(rows, partsFor(rows * c, PAR_MIN_ELEMENTS));

  // y = (x - hi) * scale + shift per channel; params: 3C float32 (hi, scale, shift) in wasm memory.
  const runAffine = (px: number, py: number, params: number, n: number, c: number, s: number, nhwc: boolean) => {
    if (nhwc || s === 1) run('bnNormalizeRows', rowSplit(n * s, c).map(([r0, r1]) => [px, py, c, params, r0, r1]));
    else run('bnNormalizePlanar', split(c, planarParts(n, c, s)).map(([c0, c1]) => [px, py, n, c, s, params, c0, c1]));
  };

  function trainRows(
    call: Call, px: number, py: number, rows: number, c: number, weight: FloatArray | null, bias: FloatArray | null,
    eps: number, mean: Float64Array, invStd: Float64Array, variance: Float64Array,
  ): void {
    const ranges = rowRanges(rows, c);
    const P = ranges.length;
    const acc = call.scratch(16 * c * P), stats = call.scratch(40 * c);
    const pm = stats, pv = stats + 8 * c, pOut = stats + 16 * c; // pOut: mean, invStd, variance
    const f = rt.fns;
    if (rows < EXACT_COUNT) {
      // Float64 two-pass: the mean, then the mean of squared deviations from it.
      run('bnRowSumsExact', ranges.map(([r0, r1], t) => [px, 0, c, r0, r1, 0, acc + 16 * c * t, 0]));
      f.bnAddParts(acc, P, c);
      f.bnRowsMean(acc, c, rows, pm);
      run('bnRowSumsExact', ranges.map(([r0, r1], t) => [px, 0, c, r0, r1, pm, acc + 16 * c * t, 1]));
      f.bnAddParts(acc, P, c);
      f.bnRowsMean(acc, c, rows, pv);
    } else {
      // Sums of (x - k) and (x - k)^2, k the mean of the first rows (so they do not cancel);
      // summed once more about a better k when k proves far from the mean.
      const pk = call.scratch(4 * c), blk = call.scratch(8 * c * P);
      f.bnRowsShift(px, rows, c, pk);
      for (let retry = 1; ; retry = 0) {
        run('bnRowSums', ranges.map(([r0, r1], t) => [px, 0, c, r0, r1, pk, acc + 16 * c * t, blk + 8 * c * t, 0]));
        f.bnAddParts(acc, P, c);
        if (!f.bnRowsShifted(acc, c, rows, pk, pm, pv, retry)) break;
      }
    }
    const params = call.scratch(12 * c);
    f.bnRowsFinish(c, pm, pv, call.in(weight), call.in(bias), eps, pOut, pOut + 8 * c, pOut + 16 * c, params);
    const out = rt.f64(pOut, 3 * c);
    mean.set(out.subarray(0, c));
    invStd.set(out.subarray(c, 2 * c));
    variance.set(out.subarray(2 * c));
    run('bnNormalizeRows', rowSplit(rows, c).map(([r0, r1]) => [px, py, c, params, r0, r1]));
  }

  function backwardRows(
    call: Call, pdy: number, px: number, pdx: number, rows: number, c: number, mean: FloatArray, invStd: Float64Array,
    weight: FloatArray | null, training: boolean, dWeight: FloatArray | null, dBias: FloatArray | null,
  ): void {
    const ranges = rowRanges(rows, c);
    const P = ranges.length;
    const acc = call.scratch(16 * c * P), sums = call.scratch(16 * c);
    const pm = call.f64(mean), pi = call.f64(invStd);
    // sum(dy) and sum(dy * (x - mean)) per channel: float64 for small counts, else float32
    // blocks about the mean's float32 part (its low part taken off in bnRowsGradCoef).
    const exact = rows < EXACT_COUNT;
    if (exact) {
      run('bnRowSumsExact', ranges.map(([r0, r1], t) => [px, pdy, c, r0, r1, pm, acc + 16 * c * t, 2]));
    } else {
      const pk = call.scratch(4 * c), blk = call.scratch(8 * c * P);
      rt.f32(pk, c).set(mean);
      run('bnRowSums', ranges.map(([r0, r1], t) => [px, pdy, c, r0, r1, pk, acc + 16 * c * t, blk + 8 * c * t, 1]));
    }
    rt.fns.bnAddParts(acc, P, c);
    const coef = pdx ? call.scratch(32 * c) : 0;
    rt.fns.bnRowsGradCoef(acc, c, rows, pm, pi, call.in(weight), training ? 1 : 0, exact ? 1 : 0, sums, coef);
    const sv = rt.f64(sums, 2 * c);
    if (dBias) dBias.set(sv.subarray(0, c));
    if (dWeight) dWeight.set(sv.subarray(c));
    if (pdx) run('bnRowsDx', rowSplit(rows, c).map(([r0, r1]) => [pdy, px, pdx, c, r0, r1, coef, exact ? 1 : 0]));
  }

  /** Runs body with a Call; on exhausted wasm memory, runs the reference kernel instead. */
  function withCall(body: (c: Call) => void, fallback: () => void): void {
    const c = new Call(rt);
    try {
      body(c);
    } catch (e) {
      c.release();
      if (e instanceof OutOfWasmMemory) return fallback();
      throw e;
    }
    c.finish();
  }

  // Each BatchNorm kernel comes in two layouts: NCHW (planar, (N, C, S)) and channels-last
  // ((N, S, C), the interleaved "rows" kernels); planar input with S = 1 is interleaved too.
  const trainForward = (nhwc: boolean) => function batchNormTrainForward(
    x: FloatArray, dims: BNDims, weight: FloatArray | null, bias: FloatArray | null, eps: number,
    y: FloatArray, mean: Float64Array, invStd: Float64Array, variance: Float64Array,
  ): void {
    const { n, c, s } = dims;
    const ref = nhwc ? refKernels.batchNormTrainForwardNHWC : refKernels.batchNormTrainForward;
    const fallback = () => ref(x, dims, weight, bias, eps, y, mean, invStd, variance);
    if (!isF32(x, y, weight, bias) || n * c * s === 0) return fallback();
    withCall((call) => {
      const px = call.in(x), py = call.out(y);
      if (nhwc || s === 1) return trainRows(call, px, py, n * s, c, weight, bias, eps, mean, invStd, variance);
      const pw = call.in(weight), pb = call.in(bias);
      const stats = call.scratch(24 * c);
      const pm = stats, pi = stats + 8 * c, pv = stats + 16 * c;
      const work = call.scratch(24 * c), params = call.scratch(12 * c);
      run('bnTrainPlanar', split(c, planarParts(n, c, s)).map(([c0, c1]) => [px, py, n, c, s, pw, pb, eps, pm, pi, pv, work, params, c0, c1]));
      mean.set(rt.f64(pm, c));
      invStd.set(rt.f64(pi, c));
      variance.set(rt.f64(pv, c));
    }, fallback);
  };

  const inferForward = (nhwc: boolean) => function batchNormInferForward(
    x: FloatArray, dims: BNDims, mean: FloatArray, variance: FloatArray,
    weight: FloatArray | null, bias: FloatArray | null, eps: number, y: FloatArray,
  ): void {
    const { n, c, s } = dims;
    const ref = nhwc ? refKernels.batchNormInferForwardNHWC : refKernels.batchNormInferForward;
    const fallback = () => ref(x, dims, mean, variance, weight, bias, eps, y);
    if (!isF32(x, y, weight, bias) || n * c * s === 0) return fallback();
    withCall((call) => {
      const px = call.in(x), py = call.out(y);
      const params = call.scratch(12 * c);
      const pv = rt.f32(params, 3 * c);
      for (let ch = 0; ch < c; ch++) {
        // (x - hi) * scale + shift: the mean split into float32 hi + lo, lo folded into the
        // shift (storeAffine in the kernels).
        const m = mean[ch];
        const hi = Math.fround(m);
        const scale = Math.fround((1 / Math.sqrt(variance[ch] + eps)) * (weight ? weight[ch] : 1));
        pv[ch] = hi;
        pv[c + ch] = scale;
        pv[2 * c + ch] = (bias ? bias[ch] : 0) - (m - hi) * scale;
      }
      runAffine(px, py, params, n, c, s, nhwc);
    }, fallback);
  };

  const backward = (nhwc: boolean) => function batchNormBackward(
    dy: FloatArray, x: FloatArray, dims: BNDims, mean: FloatArray, invStd: Float64Array,
    weight: FloatArray | null, training: boolean,
    dx: FloatArray | null, dWeight: FloatArray | null, dBias: FloatArray | null,
  ): void {
    const { n, c, s } = dims;
    const ref = nhwc ? refKernels.batchNormBackwardNHWC : refKernels.batchNormBackward;
    const fallback = () => ref(dy, x, dims, mean, invStd, weight, training, dx, dWeight, dBias);
    if (!isF32(dy, x, weight, dx) || n * c * s === 0) return fallback();
    if (!training && dx && !dWeight && !dBias) {
      // Inference backward, dx only (frozen BatchNorm): dx = dy * invStd * weight, one pass,
      // which is the inference forward applied to dy with mean 0 and bias 0.
      withCall((call) => {
        const pdy = call.in(dy), pdx = call.out(dx);
        const params = call.scratch(12 * c);
        const pv = rt.f32(params, 3 * c);
        pv.fill(0);
        for (let ch = 0; ch < c; ch++) pv[c + ch] = invStd[ch] * (weight ? weight[ch] : 1);
        runAffine(pdy, pdx, params, n, c, s, nhwc);
      }, fallback);
      return;
    }
    withCall((call) => {
      const pdy = call.in(dy), px = call.in(x), pdx = call.out(dx);
      if (nhwc || s === 1) return backwardRows(call, pdy, px, pdx, n * s, c, mean, invStd, weight, training, dWeight, dBias);
      const pw = call.in(weight);
      const pm = call.f64(mean), pi = call.f64(invStd);
      const sums = call.scratch(16 * c);
      const work = call.scratch(24 * c), coef = call.scratch(32 * c);
      run('bnBackwardPlanar', split(c, planarParts(n, c, s)).map(([c0, c1]) => [pdy, px, pdx, n, c, s, pm, pi, pw, training ? 1 : 0, sums, work, coef, c0, c1]));
      const sv = rt.f64(sums, 2 * c);
      if (dBias) dBias.set(sv.subarray(0, c));
      if (dWeight) dWeight.set(sv.subarray(c));
    }, fallback);
  };

  /**
   * out = op(a) @ op(b) (+ bias, pointer or 0) on pointers, with scratch from gemmScratch.
   * Split over column panels when there are enough (each thread packs its own panels of op(b):
   * no serial part), else over row blocks after packing op(b) here. Every element is summed
   * by one thread in the same order, whatever the split.
   */
  function gemm(
    pa: number, pb: number, po: number, m: number, k: number, n: number, transA: boolean, transB: boolean,
    scratch: GemmScratch, pbias = 0,
  ): void {
    const mb = Math.ceil(m / 4), nb = Math.ceil(n / 8);
    const P = partsFor(2 * m * n * k, PAR_MIN_FLOPS);
    const ta = transA ? 1 : 0, tb = transB ? 1 : 0;
    const { bp, apad } = scratch;
    const apadOf = (part: number) => apad + part * k * 16;
    if (nb >= P) {
      run('gemmPart', split(nb, P).map(([j0, j1], t) => [pa, pb, po, m, k, n, ta, tb, bp, 0, mb, j0, j1, 0, rt.tmp[t], pbias, apadOf(t)]));
    } else {
      rt.fns.packB(pb, bp, k, n, tb, 0, nb);
      run('gemmPart', split(mb, P).map(([i0, i1], t) => [pa, pb, po, m, k, n, ta, tb, bp, i0, i1, 0, nb, 1, rt.tmp[t], pbias, apadOf(t)]));
    }
  }
  type GemmScratch = { bp: number; apad: number };
  /** Scratch for products of up to k x n op(b) (packed panels) and one padded row block per part. */
  const gemmScratch = (call: Call, k: number, n: number): GemmScratch =>
    ({ bp: call.scratch(Math.ceil(n / 8) * k * 32), apad: call.scratch(MAX_PARTS * k * 16) });

  function matmul(
    a: FloatArray, b: FloatArray, out: FloatArray, m: number, k: number, n: number, transA: boolean, transB: boolean,
    bias: FloatArray | null = null,
  ): void {
    const fallback = () => refKernels.matmul(a, b, out, m, k, n, transA, transB, bias);
    if (!isF32(a, b, out, bias) || !(m * n * k > 0)) return fallback(); // also a NaN size: never into the kernel
    withCall((call) => {
      const pa = call.in(a), pb = call.in(b), po = call.out(out), pbias = call.in(bias);
      gemm(pa, pb, po, m, k, n, transA, transB, gemmScratch(call, k, n), pbias);
    }, fallback);
  }

  function columnSums(x: FloatArray, rows: number, cols: number, out: FloatArray): void {
    const fallback = () => refKernels.columnSums(x, rows, cols, out);
    if (!isF32(x, out) || rows * cols === 0) return fallback();
    withCall((call) => {
      const px = call.in(x), po = call.out(out);
      rt.fns.columnSumsF32(px, rows, cols, po);
    }, fallback);
  }

  // Optimizer updates: one parameter at a time, on this thread (parameters are small next to
  // the activations; the update is a single pass over them).
  function sgdStep(w: FloatArray, grad: FloatArray, buf: FloatArray | null, h: SgdHyper): void {
    const fallback = () => refKernels.sgdStep(w, grad, buf, h);
    if (!isF32(w, grad, buf) || w.length === 0) return fallback();
    withCall((call) => {
      const pw = call.inout(w), pg = call.in(grad), pbuf = call.inout(buf);
      const flags = (h.nesterov ? 1 : 0) | (h.first ? 2 : 0);
      rt.fns.sgdF32(pw, pg, pbuf, w.length, h.lr, h.momentum, 1 - h.dampening, h.weightDecay, flags);
    }, fallback);
  }

  function adamStep(w: FloatArray, grad: FloatArray, m: FloatArray, v: FloatArray, h: AdamHyper): void {
    const fallback = () => refKernels.adamStep(w, grad, m, v, h);
    if (!isF32(w, grad, m, v) || w.length === 0) return fallback();
    withCall((call) => {
      const pw = call.inout(w), pm = call.inout(m), pv = call.inout(v), pg = call.in(grad);
      rt.fns.adamF32(pw, pg, pm, pv, w.length, h.stepSize, h.bc2Sqrt, h.beta1, h.beta2, 1 - h.beta1, 1 - h.beta2, h.eps, h.weightDecay);
    }, fallback);
  }

  // Convolution: im2col of one sample at a time, then the matrix product (as the reference).
  const geometry = (call: Call, d: Conv2dDims) => call.ints(Int32Array.of(
    d.cIn, d.h, d.w, d.kH, d.kW, d.strideH, d.strideW, d.padH, d.padW, d.dilationH ?? 1, d.dilationW ?? 1, d.outH, d.outW,
  ), 'in');

  function conv2dForward(x: FloatArray, weight: FloatArray, bias: FloatArray | null, d: Conv2dDims, y: FloatArray): void {
    const fallback = () => refKernels.conv2dForward(x, weight, bias, d, y);
    const K = d.cIn * d.kH * d.kW, P = d.outH * d.outW;
    if (!isF32(x, weight, bias, y) || d.n * d.cOut * P * K === 0) return fallback();
    withCall((call) => {
      const px = call.in(x), pw = call.in(weight), pb = call.in(bias), py = call.out(y);
      const geo = geometry(call, d);
      const cols = call.scratch(K * P * 4);
      const scratch = gemmScratch(call, K, P);
      for (let s = 0; s < d.n; s++) {
        rt.fns.im2col(px + 4 * s * d.cIn * d.h * d.w, cols, geo);
        const ys = py + 4 * s * d.cOut * P;
        gemm(pw, cols, ys, d.cOut, K, P, false, false, scratch);
        if (pb) rt.fns.addBiasRows(ys, pb, d.cOut, P);
      }
    }, fallback);
  }

  function conv2dBackward(
    dy: FloatArray, x: FloatArray, weight: FloatArray, d: Conv2dDims,
    dx: FloatArray | null, dWeight: FloatArray | null, dBias: FloatArray | null,
  ): void {
    const fallback = () => refKernels.conv2dBackward(dy, x, weight, d, dx, dWeight, dBias);
    const K = d.cIn * d.kH * d.kW, P = d.outH * d.outW;
    if (!isF32(dy, x, weight, dx, dWeight, dBias) || d.n * d.cOut * P * K === 0) return fallback();
    withCall((call) => {
      const pdy = call.in(dy), px = call.in(x), pw = call.in(weight), pdx = call.out(dx);
      const geo = geometry(call, d);
      const cols = call.scratch(K * P * 4);
      // Products here: (cOut x P) @ (P x K) and (K x cOut) @ (cOut x P).
      const scratch = gemmScratch(call, Math.max(P, d.cOut), Math.max(K, P));
      const dwAcc = dWeight ? call.scratch(d.cOut * K * 4) : 0;
      const dwS = dWeight ? call.scratch(d.cOut * K * 4) : 0;
      const dbAcc = dBias ? call.scratch(d.cOut * 8) : 0;
      if (dwAcc) rt.f32(dwAcc, d.cOut * K).fill(0);
      if (dbAcc) rt.f64(dbAcc, d.cOut).fill(0);
      const plane = d.cIn * d.h * d.w;
      for (let s = 0; s < d.n; s++) {
        const dys = pdy + 4 * s * d.cOut * P;
        if (dbAcc) rt.fns.sumRowsF64(dys, d.cOut, P, dbAcc);
        if (dwAcc) {
          // dW += dy_s (cOut x P) @ cols_s^T (P x K)
          rt.fns.im2col(px + 4 * s * plane, cols, geo);
          gemm(dys, cols, dwS, d.cOut, P, K, false, true, scratch);
          rt.fns.addF32(dwAcc, dwS, dwAcc, d.cOut * K);
        }
        if (pdx) {
          // dCols = W^T (K x cOut) @ dy_s (cOut x P), folded back onto the input positions.
          gemm(pw, dys, cols, K, d.cOut, P, true, false, scratch);
          rt.f32(pdx + 4 * s * plane, plane).fill(0);
          rt.fns.col2imAdd(cols, pdx + 4 * s * plane, geo);
        }
      }
      if (dWeight) dWeight.set(rt.f32(dwAcc, d.cOut * K));
      if (dBias) dBias.set(rt.f64(dbAcc, d.cOut));
    }, fallback);
  }

  const poolGeometry = (call: Call, d: Pool2dDims) => call.ints(Int32Array.of(
    d.h, d.w, d.kH, d.kW, d.strideH, d.strideW, d.padH, d.padW, d.dilationH ?? 1, d.dilationW ?? 1, d.outH, d.outW,
  ), 'in');

  function maxPool2dForward(x: FloatArray, d: Pool2dDims, y: FloatArray, indices: Int32Array): void {
    const fallback = () => refKernels.maxPool2dForward(x, d, y, indices);
    if (!isF32(x, y) || y.length === 0) return fallback();
    withCall((call) => {
      const px = call.in(x), py = call.out(y), pi = call.ints(indices, 'out');
      const geo = poolGeometry(call, d);
      const P = partsFor(x.length, PAR_MIN_ELEMENTS);
      run('maxPool2dF32', split(d.n * d.c, P).map(([p0, p1]) => [px, py, pi, geo, p0, p1]));
    }, fallback);
  }

  function maxPool2dBackward(dy: FloatArray, indices: Int32Array, d: Pool2dDims, dx: FloatArray): void {
    const fallback = () => refKernels.maxPool2dBackward(dy, indices, d, dx);
    if (!isF32(dy, dx) || dx.length === 0) return fallback();
    withCall((call) => {
      const pdy = call.in(dy), pi = call.ints(indices, 'in'), pdx = call.out(dx);
      const P = partsFor(dx.length, PAR_MIN_ELEMENTS);
      run('maxPool2dBackwardF32', split(d.n * d.c, P).map(([p0, p1]) => [pdy, pi, pdx, d.h * d.w, d.outH * d.outW, p0, p1]));
    }, fallback);
  }

  function unary(fn: ExportName, withTmp: boolean, ref: (x: FloatArray, y: FloatArray) => void) {
    return (x: FloatArray, y: FloatArray): void => {
      if (!isF32(x, y) || x.length === 0) return ref(x, y);
      withCall((call) => {
        const px = call.in(x), py = call.out(y);
        const P = partsFor(x.length, PAR_MIN_ELEMENTS);
        run(fn, split(x.length, P, 4).map(([i0, i1], t) => {
          const args = [px + 4 * i0, py + 4 * i0, i1 - i0];
          if (withTmp) args.push(rt.tmp[t]);
          return args;
        }));
      }, () => ref(x, y));
    };
  }

  function binary(fn: ExportName, ref: (u: FloatArray, v: FloatArray, d: FloatArray) => void) {
    return (u: FloatArray, v: FloatArray, d: FloatArray): void => {
      if (!isF32(u, v, d) || u.length === 0) return ref(u, v, d);
      withCall((call) => {
        const pu = call.in(u), pv = call.in(v), pd = call.out(d);
        const P = partsFor(u.length, PAR_MIN_ELEMENTS);
        run(fn, split(u.length, P, 4).map(([i0, i1]) => [pu + 4 * i0, pv + 4 * i0, pd + 4 * i0, i1 - i0]));
      }, () => ref(u, v, d));
    };
  }

  return {
    batchNormTrainForward: trainForward(false),
    batchNormInferForward: inferForward(false),
    batchNormBackward: backward(false),
    batchNormTrainForwardNHWC: trainForward(true),
    batchNormInferForwardNHWC: inferForward(true),
    batchNormBackwardNHWC: backward(true),
    matmul,
    conv2dForward,
    conv2dBackward,
    maxPool2dForward,
    maxPool2dBackward,
    sigmoid: unary('sigmoidF32', true, refKernels.sigmoid),
    tanh: unary('tanhF32', true, refKernels.tanh),
    relu: unary('reluF32', false, refKernels.relu),
    sigmoidBackward: binary('sigmoidBackwardF32', refKernels.sigmoidBackward),
    tanhBackward: binary('tanhBackwardF32', refKernels.tanhBackward),
    reluBackward: binary('reluBackwardF32', refKernels.reluBackward),
    columnSums,
    sgdStep,
    adamStep,
  };
}

/** A backend on a given runtime (the library makes one; tests also make a private-memory one). */
export function createWasmBackend(rt: WasmRuntime, name = 'wasm'): Backend {
  return {
    name,
    kernels: makeKernels(rt),
    allocate: (float32, size, zero) => rt.allocate(float32, size, zero),
    release: (storage) => rt.release(storage),
    setNumThreads: (n) => rt.setNumThreads(n),
    getNumThreads: () => rt.numThreads(),
    info: () => ({ sharedMemory: rt.shared, relaxedSimd: rt.relaxed, limits: rt.limits() }),
    ready: () => rt.ready(),
  };
}

/** The `wasm` backend, or null when WebAssembly is unavailable (the library then uses `ref`). */
export const wasmBackend: Backend | null = wasmRuntime ? createWasmBackend(wasmRuntime) : null;
