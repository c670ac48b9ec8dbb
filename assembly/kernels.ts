// WebAssembly SIMD128 kernels for batchnorm, compiled by AssemblyScript (`npm run build:wasm`).
//
// Design: every export is a pure function on pointers into an imported (shared) memory. No
// allocation, no data segments, no runtime: several instances (one per thread) share one
// memory, and the JS side (src/kernels/wasm/) owns every byte of it. Float32 only: calls with
// float64 data go to the reference kernels. Each kernel takes a range (channels, rows, tiles)
// so the caller can split one call over threads; results never depend on the split, except
// where a doc comment says so.
//
// Accuracy: per-channel sums are accumulated in float32 over short blocks (16 values per SIMD
// lane) and the block sums in float64, around a shift K close to the mean (see bnStats*), so
// `1e4 + 1e-2 * noise` keeps its variance. Normalisation is (x - hi) * scale + shift with the
// float64 mean split into two floats (hi + lo) and lo folded into shift = bias - lo * scale (in
// float64): x - hi is exact near the mean (Sterbenz), so x - mean keeps its digits in float32 too,
// at one subtraction a value.

// Block sums returned by the helpers (globals are per instance, so per thread).
let gS1: f64 = 0;
let gS2: f64 = 0;

const BLOCK: i32 = 64; // values per float32 block: 16 per lane

// a * b + c. The build with relaxed SIMD (scripts/build-wasm.mjs makes both) uses the fused
// multiply-add where the engine has one (V8 on x86-64 with FMA3; rounding once is at least as
// accurate, and the same on every run of one machine): one instruction on the multiply ports
// instead of a multiply and an add: the adds bound the matrix tile (~20% faster with it) and
// the statistics loop on cached data (BatchNorm on large tensors is bound by memory either way).
// Without it, a multiply then an add.
@inline function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(f32x4.mul(a, b), c);
}

// ---------------------------------------------------------------------------------------------
// Shifted sums over a contiguous run: gS1 += sum(x - k), gS2 += sum((x - k)^2).
@inline function shiftedSums(p: usize, len: i32, k: f32): void {
  const kv = f32x4.splat(k);
  let s1 = f64x2.splat(0);
  let s2 = f64x2.splat(0);
  let i = 0;
  while (i + BLOCK <= len) {
    // Four accumulator pairs: a fused multiply-add takes 4 cycles, and two of them issue a cycle.
    let a1 = f32x4.splat(0), a2 = f32x4.splat(0), b1 = f32x4.splat(0), b2 = f32x4.splat(0);
    let a3 = f32x4.splat(0), a4 = f32x4.splat(0), b3 = f32x4.splat(0), b4 = f32x4.splat(0);
    for (let j = 0; j < BLOCK; j += 16) {
      const q = p + (<usize>(i + j) << 2);
      const d1 = f32x4.sub(v128.load(q), kv);
      const d2 = f32x4.sub(v128.load(q, 16), kv);
      const d3 = f32x4.sub(v128.load(q, 32), kv);
      const d4 = f32x4.sub(v128.load(q, 48), kv);
      a1 = f32x4.add(a1, d1);
      a2 = f32x4.add(a2, d2);
      a3 = f32x4.add(a3, d3);
      a4 = f32x4.add(a4, d4);
      b1 = madd(d1, d1, b1);
      b2 = madd(d2, d2, b2);
      b3 = madd(d3, d3, b3);
      b4 = madd(d4, d4, b4);
    }
    const a = f32x4.add(f32x4.add(a1, a2), f32x4.add(a3, a4));
    const b = f32x4.add(f32x4.add(b1, b2), f32x4.add(b3, b4));
    s1 = f64x2.add(s1, f64x2.add(f64x2.promote_low_f32x4(a), f64x2.promote_low_f32x4(v128.shuffle<f32>(a, a, 2, 3, 0, 1))));
    s2 = f64x2.add(s2, f64x2.add(f64x2.promote_low_f32x4(b), f64x2.promote_low_f32x4(v128.shuffle<f32>(b, b, 2, 3, 0, 1))));
    i += BLOCK;
  }
  if (i + 4 <= len) {
    let a = f32x4.splat(0), b = f32x4.splat(0);
    for (; i + 4 <= len; i += 4) {
      const d = f32x4.sub(v128.load(p + (<usize>i << 2)), kv);
      a = f32x4.add(a, d);
      b = f32x4.add(b, f32x4.mul(d, d));
    }
    s1 = f64x2.add(s1, f64x2.add(f64x2.promote_low_f32x4(a), f64x2.promote_low_f32x4(v128.shuffle<f32>(a, a, 2, 3, 0, 1))));
    s2 = f64x2.add(s2, f64x2.add(f64x2.promote_low_f32x4(b), f64x2.promote_low_f32x4(v128.shuffle<f32>(b, b, 2, 3, 0, 1))));
  }
  let t1: f64 = f64x2.extract_lane(s1, 0) + f64x2.extract_lane(s1, 1);
  let t2: f64 = f64x2.extract_lane(s2, 0) + f64x2.extract_lane(s2, 1);
  for (; i < len; i++) {
    const d = <f64>(load<f32>(p + (<usize>i << 2)) - k);
    t1 += d;
    t2 += d * d;
  }
  gS1 += t1;
  gS2 += t2;
}

// y = (x - mHi) * scale + shift over a contiguous run.
@inline function normalizeRun(px: usize, py: usize, len: i32, mHi: f32, scale: f32, shift: f32): void {
  const hv = f32x4.splat(mHi), sv = f32x4.splat(scale), bv = f32x4.splat(shift);
  let i = 0;
  for (; i + 8 <= len; i += 8) {
    const o = <usize>i << 2;
    const x1 = v128.load(px + o);
    const x2 = v128.load(px + o, 16);
    v128.store(py + o, madd(f32x4.sub(x1, hv), sv, bv));
    v128.store(py + o, madd(f32x4.sub(x2, hv), sv, bv), 16);
  }
  for (; i < len; i++) {
    const o = <usize>i << 2;
    store<f32>(py + o, (load<f32>(px + o) - mHi) * scale + shift);
  }
}

// The normalisation parameters of channel ch into params (three float32 arrays of size C:
// mean hi, scale, shift): y = (x - hi) * scale + shift = (x - mean) * scale + bias.
@inline function storeAffine(params: usize, c: i32, ch: i32, m: f64, scale: f64, bias: f64): void {
  const cb = <usize>c << 2, o4 = <usize>ch << 2;
  const mHi = <f32>m;
  const f32Scale = <f32>scale;
  store<f32>(params + o4, mHi);
  store<f32>(params + cb + o4, f32Scale);
  store<f32>(params + 2 * cb + o4, <f32>(bias - (m - <f64>mHi) * <f64>f32Scale));
}

// ---------------------------------------------------------------------------------------------
// BatchNorm, planar layout (N, C, S): channel ch is N runs of S contiguous floats.
// A call handles channels [c0, c1) and walks memory in order (for each sample, its runs of
// channels c0..c1-1 are one contiguous span): channel-by-channel order would jump between
// short runs far apart, which costs the hardware prefetcher more than a second pass.
// Per-channel accumulators live in `work` (24 C bytes: S1 f64 | S2 f64 | K f32 | spare f32).

@inline function wS1(work: usize, ch: i32): usize { return work + (<usize>ch << 3); }
@inline function wS2(work: usize, c: i32, ch: i32): usize { return work + (<usize>(c + ch) << 3); }
@inline function wK(work: usize, c: i32, ch: i32): usize { return work + (<usize>c << 4) + (<usize>ch << 2); }

// Exact float64 sums over a contiguous run: returns sum(x - m) or sum((x - m)^2).
@inline function sumRunF64(p: usize, len: i32, m: f64, square: bool): f64 {
  const mv = f64x2.splat(m);
  let s1 = f64x2.splat(0), s2 = f64x2.splat(0);
  let i = 0;
  for (; i + 4 <= len; i += 4) {
    const v = v128.load(p + (<usize>i << 2));
    const a = f64x2.sub(f64x2.promote_low_f32x4(v), mv);
    const b = f64x2.sub(f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 0, 1)), mv);
    if (square) {
      s1 = f64x2.add(s1, f64x2.mul(a, a));
      s2 = f64x2.add(s2, f64x2.mul(b, b));
    } else {
      s1 = f64x2.add(s1, a);
      s2 = f64x2.add(s2, b);
    }
  }
  s1 = f64x2.add(s1, s2);
  let t: f64 = f64x2.extract_lane(s1, 0) + f64x2.extract_lane(s1, 1);
  for (; i < len; i++) {
    const d = <f64>load<f32>(p + (<usize>i << 2)) - m;
    t += square ? d * d : d;
  }
  return t;
}

// Channels with fewer values than this get exact float64 two-pass statistics and float64
// backward arithmetic (the data is small). Small counts are where the last digits matter:
// with a batch of two, dx ~ (dy - mean dy) * eps / (var + eps) amplifies any error in invStd
// by (var + eps) / eps. Above it, float32 blocks summed in float64 (relative error ~1e-7 /
// sqrt(blocks)) keep the passes at memory speed.
const EXACT_COUNT: f64 = 16384;

/**
 * Mean and biased variance of channels [c0, c1) into the work area (S1 = mean, S2 = var).
 */
function statsPlanar(x: usize, n: i32, c: i32, s: i32, c0: i32, c1: i32, work: usize): void {
  const count = <f64>n * <f64>s;
  const rowStride = <usize>c * <usize>s << 2;
  const runBytes = <usize>s << 2;
  for (let ch = c0; ch < c1; ch++) {
    store<f64>(wS1(work, ch), 0);
    store<f64>(wS2(work, c, ch), 0);
  }
  if (count < EXACT_COUNT) {
    for (let i = 0; i < n; i++) {
      let p = x + <usize>i * rowStride + <usize>c0 * runBytes;
      for (let ch = c0; ch < c1; ch++, p += runBytes) store<f64>(wS1(work, ch), load<f64>(wS1(work, ch)) + sumRunF64(p, s, 0, false));
    }
    for (let ch = c0; ch < c1; ch++) store<f64>(wS1(work, ch), load<f64>(wS1(work, ch)) / count);
    for (let i = 0; i < n; i++) {
      let p = x + <usize>i * rowStride + <usize>c0 * runBytes;
      for (let ch = c0; ch < c1; ch++, p += runBytes) {
        store<f64>(wS2(work, c, ch), load<f64>(wS2(work, c, ch)) + sumRunF64(p, s, load<f64>(wS1(work, ch)), true));
      }
    }
    for (let ch = c0; ch < c1; ch++) store<f64>(wS2(work, c, ch), load<f64>(wS2(work, c, ch)) / count);
    return;
  }
  // Shift per channel: the mean of its first (up to) 64 values, so sums of (x - k) and
  // (x - k)^2 do not cancel.
  const first = s < BLOCK ? s : BLOCK;
  for (let ch = c0; ch < c1; ch++) {
    const p = x + <usize>ch * runBytes;
    let k0: f64 = 0;
    for (let j = 0; j < first; j++) k0 += <f64>load<f32>(p + (<usize>j << 2));
    store<f32>(wK(work, c, ch), <f32>(k0 / <f64>first));
  }
  for (let i = 0; i < n; i++) {
    let p = x + <usize>i * rowStride + <usize>c0 * runBytes;
    for (let ch = c0; ch < c1; ch++, p += runBytes) {
      gS1 = 0;
      gS2 = 0;
      shiftedSums(p, s, load<f32>(wK(work, c, ch)));
      store<f64>(wS1(work, ch), load<f64>(wS1(work, ch)) + gS1);
      store<f64>(wS2(work, c, ch), load<f64>(wS2(work, c, ch)) + gS2);
    }
  }
  for (let ch = c0; ch < c1; ch++) {
    let k = load<f32>(wK(work, c, ch));
    let mu1 = load<f64>(wS1(work, ch)) / count;
    let m2 = load<f64>(wS2(work, c, ch)) / count;
    if (m2 > 4 * (m2 - mu1 * mu1)) {
      // The shift was far from the mean (data not i.i.d., e.g. sorted): E[d^2] - E[d]^2
      // cancels. Redo this channel around the mean just found (then mu1 ~ 0).
      k = <f32>(<f64>k + mu1);
      gS1 = 0;
      gS2 = 0;
      for (let i = 0; i < n; i++) shiftedSums(x + <usize>i * rowStride + <usize>ch * runBytes, s, k);
      mu1 = gS1 / count;
      m2 = gS2 / count;
    }
    const v = m2 - mu1 * mu1;
    store<f64>(wS1(work, ch), <f64>k + mu1);
    store<f64>(wS2(work, c, ch), v > 0 ? v : 0);
  }
}

/**
 * Training forward for channels [c0, c1): statistics, then normalisation. weight/bias 0 mean
 * 1/0. mean/invStd/variance: float64 arrays of size C. work: 24 C bytes; params: 12 C bytes.
 */
export function bnTrainPlanar(
  x: usize, y: usize, n: i32, c: i32, s: i32, weight: usize, bias: usize, eps: f64,
  mean: usize, invStd: usize, variance: usize, work: usize, params: usize, c0: i32, c1: i32,
): void {
  // Channel groups of about GROUP_BYTES, so the normalising pass re-reads x from cache.
  const g = channelGroup(<f64>n * <f64>s * 4, <f64>s * 4);
  for (let g0 = c0; g0 < c1;) {
    const g1 = g >= c1 - g0 ? c1 : g0 + g;
    trainGroup(x, y, n, c, s, weight, bias, eps, mean, invStd, variance, work, params, g0, g1);
    g0 = g1;
  }
}

// A thread's share of the last-level cache (32 MiB shared on the benchmark machine), less what
// the other thread and the output stream need.
// Groups are only worth it while each sample's span of the group's channels stays long (64 KiB):
// short runs far apart cost the prefetcher more than the cache saves (e.g. 28x28 planes).
const GROUP_BYTES: f64 = 8 * 1024 * 1024;
@inline function channelGroup(bytesPerChannel: f64, runBytes: f64): i32 {
  const g = <i32>(GROUP_BYTES / bytesPerChannel);
  if (<f64>g * runBytes < 65536) return 0x7fffffff;
  return g < 1 ? 1 : g;
}

function trainGroup(
  x: usize, y: usize, n: i32, c: i32, s: i32, weight: usize, bias: usize, eps: f64,
  mean: usize, invStd: usize, variance: usize, work: usize, params: usize, c0: i32, c1: i32,
): void {
  statsPlanar(x, n, c, s, c0, c1, work);
  for (let ch = c0; ch < c1; ch++) {
    const o4 = <usize>ch << 2, o8 = <usize>ch << 3;
    const m = load<f64>(wS1(work, ch));
    const v = load<f64>(wS2(work, c, ch));
    const is = 1 / Math.sqrt(v + eps);
    store<f64>(mean + o8, m);
    store<f64>(variance + o8, v);
    store<f64>(invStd + o8, is);
    const w: f64 = weight ? <f64>load<f32>(weight + o4) : 1;
    storeAffine(params, c, ch, m, is * w, bias ? <f64>load<f32>(bias + o4) : 0);
  }
  bnNormalizePlanar(x, y, n, c, s, params, c0, c1);
}

/**
 * Normalisation with per-channel parameters for channels [c0, c1), in memory order: params
 * holds three float32 arrays of size C one after the other: mean hi, scale, shift (storeAffine).
 */
export function bnNormalizePlanar(x: usize, y: usize, n: i32, c: i32, s: i32, params: usize, c0: i32, c1: i32): void {
  const rowStride = <usize>c * <usize>s << 2;
  const runBytes = <usize>s << 2;
  const cb = <usize>c << 2;
  for (let i = 0; i < n; i++) {
    let o = <usize>i * rowStride + <usize>c0 * runBytes;
    for (let ch = c0; ch < c1; ch++, o += runBytes) {
      const q = params + (<usize>ch << 2);
      normalizeRun(x + o, y + o, s, load<f32>(q), load<f32>(q + cb), load<f32>(q + 2 * cb));
    }
  }
}

// sum(dy) and sum(dy * (x - m)) over a contiguous run into gS1, gS2; float64 products and sums
// (exact path).
@inline function gradSumsF64(pdy: usize, px: usize, len: i32, m: f64): void {
  const mv = f64x2.splat(m);
  let s1 = f64x2.splat(0), s2 = f64x2.splat(0), t1 = f64x2.splat(0), t2 = f64x2.splat(0);
  let i = 0;
  for (; i + 4 <= len; i += 4) {
    const o = <usize>i << 2;
    const xv = v128.load(px + o), gv = v128.load(pdy + o);
    const xl = f64x2.promote_low_f32x4(xv), xh = f64x2.promote_low_f32x4(v128.shuffle<f32>(xv, xv, 2, 3, 0, 1));
    const gl = f64x2.promote_low_f32x4(gv), gh = f64x2.promote_low_f32x4(v128.shuffle<f32>(gv, gv, 2, 3, 0, 1));
    s1 = f64x2.add(s1, gl);
    t1 = f64x2.add(t1, gh);
    s2 = f64x2.add(s2, f64x2.mul(gl, f64x2.sub(xl, mv)));
    t2 = f64x2.add(t2, f64x2.mul(gh, f64x2.sub(xh, mv)));
  }
  s1 = f64x2.add(s1, t1);
  s2 = f64x2.add(s2, t2);
  let a: f64 = f64x2.extract_lane(s1, 0) + f64x2.extract_lane(s1, 1);
  let b: f64 = f64x2.extract_lane(s2, 0) + f64x2.extract_lane(s2, 1);
  for (; i < len; i++) {
    const o = <usize>i << 2;
    const g = <f64>load<f32>(pdy + o);
    a += g;
    b += g * (<f64>load<f32>(px + o) - m);
  }
  gS1 = a;
  gS2 = b;
}

// The same in float32 blocks of 64 summed in float64, with x - m as (x - mHi) - mLo:
// sum(dy * (x - mHi)) - mLo * sum(dy), the last term in float64.
@inline function gradSumsF32(pdy: usize, px: usize, len: i32, mHi: f32, mLo: f64): void {
  const hv = f32x4.splat(mHi);
  let s1 = f64x2.splat(0), s2 = f64x2.splat(0);
  let i = 0;
  while (i + 4 <= len) {
    const end = i + BLOCK <= len ? i + BLOCK : len & ~3;
    // Two accumulator pairs (8 values a step): the adds' latency, not memory, bounds one pair.
    let a = f32x4.splat(0), b = f32x4.splat(0), a2 = f32x4.splat(0), b2 = f32x4.splat(0);
    for (; i + 8 <= end; i += 8) {
      const o = <usize>i << 2;
      const g = v128.load(pdy + o), g2 = v128.load(pdy + o, 16);
      a = f32x4.add(a, g);
      a2 = f32x4.add(a2, g2);
      b = madd(g, f32x4.sub(v128.load(px + o), hv), b);
      b2 = madd(g2, f32x4.sub(v128.load(px + o, 16), hv), b2);
    }
    for (; i < end; i += 4) {
      const o = <usize>i << 2;
      const g = v128.load(pdy + o);
      a = f32x4.add(a, g);
      b = madd(g, f32x4.sub(v128.load(px + o), hv), b);
    }
    a = f32x4.add(a, a2);
    b = f32x4.add(b, b2);
    s1 = f64x2.add(s1, f64x2.add(f64x2.promote_low_f32x4(a), f64x2.promote_low_f32x4(v128.shuffle<f32>(a, a, 2, 3, 0, 1))));
    s2 = f64x2.add(s2, f64x2.add(f64x2.promote_low_f32x4(b), f64x2.promote_low_f32x4(v128.shuffle<f32>(b, b, 2, 3, 0, 1))));
  }
  let t1: f64 = f64x2.extract_lane(s1, 0) + f64x2.extract_lane(s1, 1);
  let t2: f64 = f64x2.extract_lane(s2, 0) + f64x2.extract_lane(s2, 1);
  for (; i < len; i++) {
    const o = <usize>i << 2;
    const g = <f64>load<f32>(pdy + o);
    t1 += g;
    t2 += g * <f64>(load<f32>(px + o) - mHi);
  }
  gS1 = t1;
  gS2 = t2 - mLo * t1;
}

// dx = dy * a - (x - m) * bq - cq over a contiguous run, in float64 (exact path): dx is a
// difference of terms of size |dy| that cancel (to ~0 for a batch of two).
@inline function combine(lo: v128, hi: v128): v128 {
  return v128.shuffle<f32>(f32x4.demote_f64x2_zero(lo), f32x4.demote_f64x2_zero(hi), 0, 1, 4, 5);
}
@inline function gradRunF64(pdy: usize, px: usize, pdx: usize, len: i32, m: f64, a: f64, bq: f64, cq: f64): void {
  const mv = f64x2.splat(m), av = f64x2.splat(a), bv = f64x2.splat(bq), cv = f64x2.splat(cq);
  let i = 0;
  for (; i + 4 <= len; i += 4) {
    const o = <usize>i << 2;
    const xv = v128.load(px + o), gv = v128.load(pdy + o);
    const xl = f64x2.promote_low_f32x4(xv), xh = f64x2.promote_low_f32x4(v128.shuffle<f32>(xv, xv, 2, 3, 0, 1));
    const gl = f64x2.promote_low_f32x4(gv), gh = f64x2.promote_low_f32x4(v128.shuffle<f32>(gv, gv, 2, 3, 0, 1));
    const rl = f64x2.sub(f64x2.sub(f64x2.mul(gl, av), f64x2.mul(f64x2.sub(xl, mv), bv)), cv);
    const rh = f64x2.sub(f64x2.sub(f64x2.mul(gh, av), f64x2.mul(f64x2.sub(xh, mv), bv)), cv);
    v128.store(pdx + o, combine(rl, rh));
  }
  for (; i < len; i++) {
    const o = <usize>i << 2;
    const d = <f64>load<f32>(px + o) - m;
    store<f32>(pdx + o, <f32>(<f64>load<f32>(pdy + o) * a - d * bq - cq));
  }
}

// The same in float32 (large channels): dy * a - (x - mHi) * bq - cq' with the mean's low part
// folded into cq' = cq - mLo * bq (as in storeAffine).
@inline function gradRunF32(pdy: usize, px: usize, pdx: usize, len: i32, mHi: f32, a: f32, bq: f32, cq: f32): void {
  const hv = f32x4.splat(mHi), av = f32x4.splat(a), nbv = f32x4.splat(-bq), ncv = f32x4.splat(-cq);
  let i = 0;
  for (; i + 4 <= len; i += 4) {
    const o = <usize>i << 2;
    const d = f32x4.sub(v128.load(px + o), hv);
    v128.store(pdx + o, madd(d, nbv, madd(v128.load(pdy + o), av, ncv)));
  }
  for (; i < len; i++) {
    const o = <usize>i << 2;
    store<f32>(pdx + o, load<f32>(pdy + o) * a - (load<f32>(px + o) - mHi) * bq - cq);
  }
}

/**
 * Backward for channels [c0, c1), in memory order. mean/invStd: float64 (C). sums: float64
 * (2C) receives sum(dy) then sum(dy * xHat) per channel. dx 0 = not wanted. training 0/1.
 * work: 24 C bytes (accumulators); coef: 32 C bytes (float64 m, a, b, q per channel).
 */
export function bnBackwardPlanar(
  dy: usize, x: usize, dx: usize, n: i32, c: i32, s: i32, mean: usize, invStd: usize, weight: usize,
  training: i32, sums: usize, work: usize, coef: usize, c0: i32, c1: i32,
): void {
  // Channel groups of about GROUP_BYTES of x and dy, so the dx pass re-reads them from cache.
  const g = channelGroup(<f64>n * <f64>s * 8, <f64>s * 4);
  for (let g0 = c0; g0 < c1;) {
    const g1 = g >= c1 - g0 ? c1 : g0 + g;
    backwardGroup(dy, x, dx, n, c, s, mean, invStd, weight, training, sums, work, coef, g0, g1);
    g0 = g1;
  }
}

function backwardGroup(
  dy: usize, x: usize, dx: usize, n: i32, c: i32, s: i32, mean: usize, invStd: usize, weight: usize,
  training: i32, sums: usize, work: usize, coef: usize, c0: i32, c1: i32,
): void {
  const rowStride = <usize>c * <usize>s << 2;
  const runBytes = <usize>s << 2;
  const count = <f64>n * <f64>s;
  const exact = count < EXACT_COUNT;
  for (let ch = c0; ch < c1; ch++) {
    store<f64>(wS1(work, ch), 0);
    store<f64>(wS2(work, c, ch), 0);
  }
  for (let i = 0; i < n; i++) {
    let o = <usize>i * rowStride + <usize>c0 * runBytes;
    for (let ch = c0; ch < c1; ch++, o += runBytes) {
      const m = load<f64>(mean + (<usize>ch << 3));
      if (exact) gradSumsF64(dy + o, x + o, s, m);
      else {
        const mHi = <f32>m;
        gradSumsF32(dy + o, x + o, s, mHi, m - <f64>mHi);
      }
      store<f64>(wS1(work, ch), load<f64>(wS1(work, ch)) + gS1);
      store<f64>(wS2(work, c, ch), load<f64>(wS2(work, c, ch)) + gS2);
    }
  }
  const cb = <usize>c << 3;
  for (let ch = c0; ch < c1; ch++) {
    const o8 = <usize>ch << 3;
    const is = load<f64>(invStd + o8);
    const sumDy = load<f64>(wS1(work, ch));
    const sumDyXhat = load<f64>(wS2(work, c, ch)) * is;
    store<f64>(sums + o8, sumDy);
    store<f64>(sums + (<usize>(c + ch) << 3), sumDyXhat);
    // dx = scale * (dy - sumDy/M - xHat * sumDyXhat/M), xHat = (x - m) * is.
    const scale = is * (weight ? <f64>load<f32>(weight + (<usize>ch << 2)) : 1);
    store<f64>(coef + o8, load<f64>(mean + o8));
    store<f64>(coef + cb + o8, scale);
    store<f64>(coef + 2 * cb + o8, training ? scale * is * sumDyXhat / count : 0);
    store<f64>(coef + 3 * cb + o8, training ? scale * sumDy / count : 0);
  }
  if (!dx) return;
  for (let i = 0; i < n; i++) {
    let o = <usize>i * rowStride + <usize>c0 * runBytes;
    for (let ch = c0; ch < c1; ch++, o += runBytes) {
      const o8 = <usize>ch << 3;
      const m = load<f64>(coef + o8), a = load<f64>(coef + cb + o8), bq = load<f64>(coef + 2 * cb + o8), cq = load<f64>(coef + 3 * cb + o8);
      if (exact) gradRunF64(dy + o, x + o, dx + o, s, m, a, bq, cq);
      else {
        const mHi = <f32>m;
        const f32bq = <f32>bq;
        gradRunF32(dy + o, x + o, dx + o, s, mHi, <f32>a, f32bq, <f32>(cq - (m - <f64>mHi) * <f64>f32bq));
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// BatchNorm, interleaved layout (R, C): channels-last (N, H, W, C) and planar (N, C) with S = 1.
// Every pass walks rows [r0, r1) in memory order, all channels of a row together: threads split
// rows, never channels (a channel split has every thread stream the whole tensor, and with few
// channels two threads write the same cache lines). A part writes partial sums per channel
// (float64) to its own area; the caller adds the parts up in order. The split depends only on
// the shape, so results do not depend on the thread count.

const ROWBLOCK: i32 = 16;

/**
 * Partial sums over rows [r0, r1) for every channel, into acc (float64 S1 (C) | S2 (C),
 * overwritten). Float32 accumulators per block of ROWBLOCK rows (blk: 8 C bytes), each block
 * added in float64 (as the planar kernels' blocks).
 * grad 0: S1 = sum (x - k), S2 = sum (x - k)^2; grad 1: S1 = sum dy, S2 = sum dy * (x - k).
 * k: float32 (C), a shift near the mean (statistics) or the mean's float32 part (gradient).
 */
export function bnRowSums(x: usize, dy: usize, c: i32, r0: i32, r1: i32, k: usize, acc: usize, blk: usize, grad: i32): void {
  memory.fill(acc, 0, <usize>c << 4);
  if (grad) rowSums(x, dy, c, r0, r1, k, acc, blk, 1);
  else rowSums(x, dy, c, r0, r1, k, acc, blk, 0);
}

@inline function rowSums(x: usize, dy: usize, c: i32, r0: i32, r1: i32, k: usize, acc: usize, blk: usize, grad: i32): void {
  const cb = <usize>c << 2;
  const a1p = blk, a2p = blk + cb;
  const s1p = acc, s2p = acc + (<usize>c << 3);
  const cv = c & ~3;
  for (let rb = r0; rb < r1; rb += ROWBLOCK) {
    const re = rb + ROWBLOCK < r1 ? rb + ROWBLOCK : r1;
    memory.fill(blk, 0, cb << 1);
    for (let r = rb; r < re; r++) {
      const px = x + <usize>r * cb;
      const pg = dy + <usize>r * cb;
      let ch = 0;
      for (; ch < cv; ch += 4) {
        const o = <usize>ch << 2;
        const d = f32x4.sub(v128.load(px + o), v128.load(k + o));
        const g = grad ? v128.load(pg + o) : d;
        v128.store(a1p + o, f32x4.add(v128.load(a1p + o), g));
        v128.store(a2p + o, f32x4.add(v128.load(a2p + o), f32x4.mul(g, d)));
      }
      for (; ch < c; ch++) {
        const o = <usize>ch << 2;
        const d = load<f32>(px + o) - load<f32>(k + o);
        const g = grad ? load<f32>(pg + o) : d;
        store<f32>(a1p + o, load<f32>(a1p + o) + g);
        store<f32>(a2p + o, load<f32>(a2p + o) + g * d);
      }
    }
    for (let ch = 0; ch < c; ch++) {
      const o4 = <usize>ch << 2, o8 = <usize>ch << 3;
      store<f64>(s1p + o8, load<f64>(s1p + o8) + <f64>load<f32>(a1p + o4));
      store<f64>(s2p + o8, load<f64>(s2p + o8) + <f64>load<f32>(a2p + o4));
    }
  }
}

/**
 * Partial sums over rows [r0, r1) in float64 (counts under EXACT_COUNT), into acc as in
 * bnRowSums; m: float64 (C). what 0: S1 = sum x; 1: S1 = sum (x - m)^2;
 * 2: S1 = sum dy, S2 = sum dy * (x - m).
 */
export function bnRowSumsExact(x: usize, dy: usize, c: i32, r0: i32, r1: i32, m: usize, acc: usize, what: i32): void {
  // One loop per kind (what is a constant in each inlined copy: no branch in the loops).
  memory.fill(acc, 0, <usize>c << 4);
  if (what == 0) rowSumsExact(x, dy, c, r0, r1, m, acc, 0);
  else if (what == 1) rowSumsExact(x, dy, c, r0, r1, m, acc, 1);
  else rowSumsExact(x, dy, c, r0, r1, m, acc, 2);
}

@inline function rowSumsExact(x: usize, dy: usize, c: i32, r0: i32, r1: i32, m: usize, acc: usize, what: i32): void {
  const cb = <usize>c << 2;
  const s1p = acc, s2p = acc + (<usize>c << 3);
  const cv = c & ~3;
  for (let r = r0; r < r1; r++) {
    const px = x + <usize>r * cb, pg = dy + <usize>r * cb;
    let ch = 0;
    for (; ch < cv; ch += 4) {
      const o = <usize>ch << 2, o8 = <usize>ch << 3;
      const xv = v128.load(px + o);
      let xl = f64x2.promote_low_f32x4(xv), xh = f64x2.promote_low_f32x4(v128.shuffle<f32>(xv, xv, 2, 3, 0, 1));
      if (what == 0) {
        v128.store(s1p + o8, f64x2.add(v128.load(s1p + o8), xl));
        v128.store(s1p + o8, f64x2.add(v128.load(s1p + o8, 16), xh), 16);
        continue;
      }
      xl = f64x2.sub(xl, v128.load(m + o8));
      xh = f64x2.sub(xh, v128.load(m + o8, 16));
      if (what == 1) {
        v128.store(s1p + o8, f64x2.add(v128.load(s1p + o8), f64x2.mul(xl, xl)));
        v128.store(s1p + o8, f64x2.add(v128.load(s1p + o8, 16), f64x2.mul(xh, xh)), 16);
        continue;
      }
      const gv = v128.load(pg + o);
      const gl = f64x2.promote_low_f32x4(gv), gh = f64x2.promote_low_f32x4(v128.shuffle<f32>(gv, gv, 2, 3, 0, 1));
      v128.store(s1p + o8, f64x2.add(v128.load(s1p + o8), gl));
      v128.store(s1p + o8, f64x2.add(v128.load(s1p + o8, 16), gh), 16);
      v128.store(s2p + o8, f64x2.add(v128.load(s2p + o8), f64x2.mul(gl, xl)));
      v128.store(s2p + o8, f64x2.add(v128.load(s2p + o8, 16), f64x2.mul(gh, xh)), 16);
    }
    for (; ch < c; ch++) {
      const o = <usize>ch << 2, o8 = <usize>ch << 3;
      let d = <f64>load<f32>(px + o);
      if (what == 0) {
        store<f64>(s1p + o8, load<f64>(s1p + o8) + d);
        continue;
      }
      d -= load<f64>(m + o8);
      if (what == 1) {
        store<f64>(s1p + o8, load<f64>(s1p + o8) + d * d);
        continue;
      }
      const g = <f64>load<f32>(pg + o);
      store<f64>(s1p + o8, load<f64>(s1p + o8) + g);
      store<f64>(s2p + o8, load<f64>(s2p + o8) + g * d);
    }
  }
}

/** The statistics' shift k (float32, C): per channel, the mean of the first (up to) ROWBLOCK rows. */
export function bnRowsShift(x: usize, rows: i32, c: i32, k: usize): void {
  const first = rows < ROWBLOCK ? rows : ROWBLOCK;
  for (let ch = 0; ch < c; ch++) {
    let k0: f64 = 0;
    for (let r = 0; r < first; r++) k0 += <f64>load<f32>(x + ((<usize>r * <usize>c + <usize>ch) << 2));
    store<f32>(k + (<usize>ch << 2), <f32>(k0 / <f64>first));
  }
}

/** Adds the parts' partial sums (2 C float64 each, 16 C bytes apart) into the first, in part order. */
export function bnAddParts(acc: usize, parts: i32, c: i32): void {
  const len = <usize>c << 1;
  for (let t = 1; t < parts; t++) {
    const src = acc + <usize>t * (len << 3);
    for (let i: usize = 0; i < len; i++) store<f64>(acc + (i << 3), load<f64>(acc + (i << 3)) + load<f64>(src + (i << 3)));
  }
}

/** out = S1 / count per channel (float64, C): a mean, or a variance from squared deviations. */
export function bnRowsMean(acc: usize, c: i32, count: f64, out: usize): void {
  for (let ch = 0; ch < c; ch++) store<f64>(out + (<usize>ch << 3), load<f64>(acc + (<usize>ch << 3)) / count);
}

/**
 * After shifted sums (bnRowSums, statistics): when some channel's shift proves far from its
 * mean (m2 > 4 var: the sums about it cancelled) and `retry` is 1, moves every shift k by the
 * mean found and returns 1 (sum again). Else writes mean = k + mu1 and variance = m2 - mu1^2
 * (float64, C) into m and v, and returns 0.
 */
export function bnRowsShifted(acc: usize, c: i32, count: f64, k: usize, m: usize, v: usize, retry: i32): i32 {
  const s2p = acc + (<usize>c << 3);
  if (retry) {
    let redo = false;
    for (let ch = 0; ch < c; ch++) {
      const mu1 = load<f64>(acc + (<usize>ch << 3)) / count;
      const m2 = load<f64>(s2p + (<usize>ch << 3)) / count;
      if (m2 > 4 * (m2 - mu1 * mu1)) redo = true;
    }
    if (redo) {
      for (let ch = 0; ch < c; ch++) {
        const o4 = <usize>ch << 2;
        store<f32>(k + o4, <f32>(<f64>load<f32>(k + o4) + load<f64>(acc + (<usize>ch << 3)) / count));
      }
      return 1;
    }
  }
  for (let ch = 0; ch < c; ch++) {
    const o8 = <usize>ch << 3;
    const mu1 = load<f64>(acc + o8) / count;
    store<f64>(v + o8, load<f64>(s2p + o8) / count - mu1 * mu1);
    store<f64>(m + o8, <f64>load<f32>(k + (<usize>ch << 2)) + mu1);
  }
  return 0;
}

/**
 * From mean m and variance v (float64, C; a negative variance from rounding counts as 0):
 * writes the mean, invStd and variance outputs (float64, C) and the normalising parameters
 * (storeAffine).
 */
export function bnRowsFinish(
  c: i32, m: usize, v: usize, weight: usize, bias: usize, eps: f64, mean: usize, invStd: usize, variance: usize, params: usize,
): void {
  for (let ch = 0; ch < c; ch++) {
    const o4 = <usize>ch << 2, o8 = <usize>ch << 3;
    const mu = load<f64>(m + o8);
    let va = load<f64>(v + o8);
    if (va < 0) va = 0;
    const is = 1 / Math.sqrt(va + eps);
    store<f64>(mean + o8, mu);
    store<f64>(variance + o8, va);
    store<f64>(invStd + o8, is);
    storeAffine(params, c, ch, mu, is * (weight ? <f64>load<f32>(weight + o4) : 1), bias ? <f64>load<f32>(bias + o4) : 0);
  }
}

/**
 * After the gradient sums (parts added: S1 = sum dy, S2 = sum dy * (x - k)): writes sums
 * (float64, 2 C: sum dy, sum dy * xHat) and the coefficients of dx = dy * a - (x - m) * b - q
 * for bnRowsDx: float64 m, a, b, q when exact, else float32 mHi, a, b, q' (the mean's low part
 * folded into q', as gradRunF32). exact 0: k was the mean's float32 part, and its low part is
 * taken off S2 here. mean, invStd: float64 (C).
 */
export function bnRowsGradCoef(
  acc: usize, c: i32, count: f64, mean: usize, invStd: usize, weight: usize, training: i32, exact: i32, sums: usize, coef: usize,
): void {
  const s2p = acc + (<usize>c << 3);
  const cb8 = <usize>c << 3, cb4 = <usize>c << 2;
  for (let ch = 0; ch < c; ch++) {
    const o4 = <usize>ch << 2, o8 = <usize>ch << 3;
    const m = load<f64>(mean + o8);
    const mHi = <f32>m;
    const sumDy = load<f64>(acc + o8);
    let s2 = load<f64>(s2p + o8);
    if (!exact) s2 -= (m - <f64>mHi) * sumDy;
    const is = load<f64>(invStd + o8);
    const sumDyXhat = s2 * is;
    store<f64>(sums + o8, sumDy);
    store<f64>(sums + cb8 + o8, sumDyXhat);
    if (!coef) continue;
    const a = is * (weight ? <f64>load<f32>(weight + o4) : 1);
    const b = training ? a * is * sumDyXhat / count : 0;
    const q = training ? a * sumDy / count : 0;
    if (exact) {
      store<f64>(coef + o8, m);
      store<f64>(coef + cb8 + o8, a);
      store<f64>(coef + 2 * cb8 + o8, b);
      store<f64>(coef + 3 * cb8 + o8, q);
    } else {
      const b32 = <f32>b;
      store<f32>(coef + o4, mHi);
      store<f32>(coef + cb4 + o4, <f32>a);
      store<f32>(coef + 2 * cb4 + o4, b32);
      store<f32>(coef + 3 * cb4 + o4, <f32>(q - (m - <f64>mHi) * <f64>b32));
    }
  }
}

/**
 * Normalisation, interleaved layout, rows [r0, r1); params: three float32 arrays (C), mean hi,
 * scale, shift (see storeAffine).
 */
export function bnNormalizeRows(x: usize, y: usize, c: i32, params: usize, r0: i32, r1: i32): void {
  const cb = <usize>c << 2;
  const hp = params, sp = params + cb, bp = params + 2 * cb;
  const cv = c & ~3;
  for (let r = r0; r < r1; r++) {
    const px = x + <usize>r * cb;
    const py = y + <usize>r * cb;
    let ch = 0;
    for (; ch < cv; ch += 4) {
      const o = <usize>ch << 2;
      const d = f32x4.sub(v128.load(px + o), v128.load(hp + o));
      v128.store(py + o, madd(d, v128.load(sp + o), v128.load(bp + o)));
    }
    for (; ch < c; ch++) {
      const o = <usize>ch << 2;
      store<f32>(py + o, (load<f32>(px + o) - load<f32>(hp + o)) * load<f32>(sp + o) + load<f32>(bp + o));
    }
  }
}

/**
 * dx = dy * a - (x - m) * b - q over rows [r0, r1), per channel. exact 1: coef holds four
 * float64 arrays (C) m, a, b, q and the arithmetic is float64 (small counts: the terms cancel);
 * exact 0: four float32 arrays mHi, a, b, q' with the mean's low part folded into q' (as
 * gradRunF32).
 */
export function bnRowsDx(dy: usize, x: usize, dx: usize, c: i32, r0: i32, r1: i32, coef: usize, exact: i32): void {
  const rb = <usize>c << 2;
  const cv = c & ~3;
  if (!exact) {
    const mp = coef, ap = coef + rb, bp = coef + 2 * rb, qp = coef + 3 * rb;
    for (let r = r0; r < r1; r++) {
      const px = x + <usize>r * rb, pg = dy + <usize>r * rb, pd = dx + <usize>r * rb;
      let ch = 0;
      for (; ch < cv; ch += 4) {
        const o = <usize>ch << 2;
        const d = f32x4.sub(v128.load(px + o), v128.load(mp + o));
        const t = madd(v128.load(pg + o), v128.load(ap + o), f32x4.neg(v128.load(qp + o)));
        v128.store(pd + o, madd(d, f32x4.neg(v128.load(bp + o)), t));
      }
      for (; ch < c; ch++) {
        const o = <usize>ch << 2;
        store<f32>(pd + o, load<f32>(pg + o) * load<f32>(ap + o) - (load<f32>(px + o) - load<f32>(mp + o)) * load<f32>(bp + o) - load<f32>(qp + o));
      }
    }
    return;
  }
  const cb = <usize>c << 3;
  const mp = coef, ap = coef + cb, bp = coef + 2 * cb, qp = coef + 3 * cb;
  for (let r = r0; r < r1; r++) {
    const px = x + <usize>r * rb, pg = dy + <usize>r * rb, pd = dx + <usize>r * rb;
    let ch = 0;
    for (; ch < cv; ch += 4) {
      const o = <usize>ch << 2, o8 = <usize>ch << 3;
      const xv = v128.load(px + o), gv = v128.load(pg + o);
      const xl = f64x2.promote_low_f32x4(xv), xh = f64x2.promote_low_f32x4(v128.shuffle<f32>(xv, xv, 2, 3, 0, 1));
      const gl = f64x2.promote_low_f32x4(gv), gh = f64x2.promote_low_f32x4(v128.shuffle<f32>(gv, gv, 2, 3, 0, 1));
      const rl = f64x2.sub(f64x2.sub(f64x2.mul(gl, v128.load(ap + o8)), f64x2.mul(f64x2.sub(xl, v128.load(mp + o8)), v128.load(bp + o8))), v128.load(qp + o8));
      const rh = f64x2.sub(f64x2.sub(f64x2.mul(gh, v128.load(ap + o8, 16)), f64x2.mul(f64x2.sub(xh, v128.load(mp + o8, 16)), v128.load(bp + o8, 16))), v128.load(qp + o8, 16));
      v128.store(pd + o, combine(rl, rh));
    }
    for (; ch < c; ch++) {
      const o = <usize>ch << 2, o8 = <usize>ch << 3;
      const d = <f64>load<f32>(px + o) - load<f64>(mp + o8);
      store<f32>(pd + o, <f32>(<f64>load<f32>(pg + o) * load<f64>(ap + o8) - d * load<f64>(bp + o8) - load<f64>(qp + o8)));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Matrix product out (m x n) = op(a) (m x k) @ op(b) (k x n), float32 accumulation.
// op(b) is packed into zero-padded panels of 8 columns (packB); op(a) is read where it lies
// (4 rows at a time: 4 strided streams), except a last block of fewer than 4 rows, which is
// packed and zero-padded first. gemmTiles computes 4 x 8 tiles of out with 8 SIMD
// accumulators held in registers.

/** Packs rows [4 ib, 4 ib + 4) of op(a) into dst: dst[p * 4 + r] = op(a)[4 ib + r, p], zero for rows >= m. */
function packABlock(a: usize, dst: usize, m: i32, k: i32, transA: i32, ib: i32): void {
  const i0 = ib << 2;
  for (let p = 0; p < k; p++) {
    for (let r = 0; r < 4; r++) {
      const i = i0 + r;
      const v: f32 = i < m ? (transA ? load<f32>(a + ((<usize>p * <usize>m + <usize>i) << 2)) : load<f32>(a + ((<usize>i * <usize>k + <usize>p) << 2))) : 0;
      store<f32>(dst + (<usize>p << 4) + (<usize>r << 2), v);
    }
  }
}

/**
 * Packs op(b) into panels of 8 columns: bp[(jb * k + p) * 8 + j] = op(b)[p, 8 jb + j], zero for
 * columns >= n. Column blocks [jb0, jb1).
 */
export function packB(b: usize, bp: usize, k: i32, n: i32, transB: i32, jb0: i32, jb1: i32): void {
  for (let jb = jb0; jb < jb1; jb++) {
    const dst = bp + (<usize>jb * <usize>k << 5);
    const j0 = jb << 3;
    if (!transB && j0 + 8 <= n) {
      for (let p = 0; p < k; p++) {
        const src = b + ((<usize>p * <usize>n + <usize>j0) << 2);
        v128.store(dst + (<usize>p << 5), v128.load(src));
        v128.store(dst + (<usize>p << 5), v128.load(src, 16), 16);
      }
    } else if (transB && j0 + 8 <= n) {
      // op(b)[p, j] = b[j * k + p]: read 8 rows of b contiguously.
      const kb = <usize>k << 2;
      const r0 = b + (<usize>j0 * <usize>k << 2);
      let p = 0;
      for (; p + 4 <= k; p += 4) {
        const o = <usize>p << 2;
        for (let h = 0; h < 2; h++) {
          const rr = r0 + <usize>(h * 4) * kb;
          const x0 = v128.load(rr + o), x1 = v128.load(rr + kb + o), x2 = v128.load(rr + 2 * kb + o), x3 = v128.load(rr + 3 * kb + o);
          const t0 = v128.shuffle<f32>(x0, x1, 0, 4, 1, 5), t1 = v128.shuffle<f32>(x2, x3, 0, 4, 1, 5);
          const t2 = v128.shuffle<f32>(x0, x1, 2, 6, 3, 7), t3 = v128.shuffle<f32>(x2, x3, 2, 6, 3, 7);
          const d = dst + (<usize>p << 5) + (<usize>h << 4);
          v128.store(d, v128.shuffle<f64>(t0, t1, 0, 2));
          v128.store(d, v128.shuffle<f64>(t0, t1, 1, 3), 32);
          v128.store(d, v128.shuffle<f64>(t2, t3, 0, 2), 64);
          v128.store(d, v128.shuffle<f64>(t2, t3, 1, 3), 96);
        }
      }
      for (; p < k; p++) {
        for (let j = 0; j < 8; j++) store<f32>(dst + (<usize>p << 5) + (<usize>j << 2), load<f32>(r0 + <usize>j * kb + (<usize>p << 2)));
      }
    } else {
      for (let p = 0; p < k; p++) {
        for (let j = 0; j < 8; j++) {
          const jj = j0 + j;
          const v: f32 = jj < n ? (transB ? load<f32>(b + ((<usize>jj * <usize>k + <usize>p) << 2)) : load<f32>(b + ((<usize>p * <usize>n + <usize>jj) << 2))) : 0;
          store<f32>(dst + (<usize>p << 5) + (<usize>j << 2), v);
        }
      }
    }
  }
}

/**
 * 4 x 8 tiles of out for row blocks [ib0, ib1) and column blocks [jb0, jb1), from op(a) in
 * place and op(b) packed in bp. apad: k * 16 bytes of scratch for a partial last row block;
 * tmp: 128 bytes for edge tiles. Each element is a float32 sum over p in order, whatever the
 * split, plus bias[j] afterwards when bias is not 0.
 */
export function gemmTiles(
  a: usize, transA: i32, bp: usize, out: usize, m: i32, n: i32, k: i32,
  ib0: i32, ib1: i32, jb0: i32, jb1: i32, tmp: usize, bias: usize, apad: usize,
): void {
  const nb = <usize>n << 2;
  let padded = -1; // the row block packed in apad, if any
  for (let jb = jb0; jb < jb1; jb++) {
    const bpan = bp + (<usize>jb * <usize>k << 5);
    const j0 = jb << 3;
    for (let ib = ib0; ib < ib1; ib++) {
      const i0 = ib << 2;
      // Where op(a)[i0 + r, p] lies: pa + p * ps + r * rs.
      let pa: usize, ps: usize, rs: usize;
      if (i0 + 4 > m) {
        if (padded != ib) {
          packABlock(a, apad, m, k, transA, ib);
          padded = ib;
        }
        pa = apad; ps = 16; rs = 4;
      } else if (transA) {
        pa = a + (<usize>i0 << 2); ps = <usize>m << 2; rs = 4;
      } else {
        pa = a + (<usize>i0 * <usize>k << 2); ps = 4; rs = <usize>k << 2;
      }
      const rs2 = rs << 1, rs3 = rs * 3;
      let bq = bpan;
      let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c10 = f32x4.splat(0), c11 = f32x4.splat(0);
      let c20 = f32x4.splat(0), c21 = f32x4.splat(0), c30 = f32x4.splat(0), c31 = f32x4.splat(0);
      const end = bpan + (<usize>k << 5);
      while (bq < end) {
        const b0 = v128.load(bq), b1 = v128.load(bq, 16);
        let av = v128.load32_splat(pa);
        c00 = madd(av, b0, c00);
        c01 = madd(av, b1, c01);
        av = v128.load32_splat(pa + rs);
        c10 = madd(av, b0, c10);
        c11 = madd(av, b1, c11);
        av = v128.load32_splat(pa + rs2);
        c20 = madd(av, b0, c20);
        c21 = madd(av, b1, c21);
        av = v128.load32_splat(pa + rs3);
        c30 = madd(av, b0, c30);
        c31 = madd(av, b1, c31);
        pa += ps;
        bq += 32;
      }
      if (bias != 0 && j0 + 8 <= n) {
        const bv0 = v128.load(bias + (<usize>j0 << 2)), bv1 = v128.load(bias + (<usize>j0 << 2), 16);
        c00 = f32x4.add(c00, bv0); c01 = f32x4.add(c01, bv1);
        c10 = f32x4.add(c10, bv0); c11 = f32x4.add(c11, bv1);
        c20 = f32x4.add(c20, bv0); c21 = f32x4.add(c21, bv1);
        c30 = f32x4.add(c30, bv0); c31 = f32x4.add(c31, bv1);
      }
      if (i0 + 4 <= m && j0 + 8 <= n) {
        const o = out + ((<usize>i0 * <usize>n + <usize>j0) << 2);
        v128.store(o, c00); v128.store(o, c01, 16);
        v128.store(o + nb, c10); v128.store(o + nb, c11, 16);
        v128.store(o + 2 * nb, c20); v128.store(o + 2 * nb, c21, 16);
        v128.store(o + 3 * nb, c30); v128.store(o + 3 * nb, c31, 16);
      } else {
        v128.store(tmp, c00); v128.store(tmp, c01, 16);
        v128.store(tmp, c10, 32); v128.store(tmp, c11, 48);
        v128.store(tmp, c20, 64); v128.store(tmp, c21, 80);
        v128.store(tmp, c30, 96); v128.store(tmp, c31, 112);
        for (let r = 0; r < 4 && i0 + r < m; r++) {
          for (let j = 0; j < 8 && j0 + j < n; j++) {
            let v = load<f32>(tmp + (<usize>(r * 8 + j) << 2));
            if (bias != 0 && j0 + 8 > n) v += load<f32>(bias + (<usize>(j0 + j) << 2));
            store<f32>(out + ((<usize>(i0 + r) * <usize>n + <usize>(j0 + j)) << 2), v);
          }
        }
      }
    }
  }
}

/**
 * One thread's share of a matrix product in a single call: tiles [ib0, ib1) x [jb0, jb1),
 * packing its own column panels of op(b) first unless the caller packed them all (packed = 1).
 */
export function gemmPart(
  a: usize, b: usize, out: usize, m: i32, k: i32, n: i32, transA: i32, transB: i32,
  bp: usize, ib0: i32, ib1: i32, jb0: i32, jb1: i32, packed: i32, tmp: usize, bias: usize, apad: usize,
): void {
  if (!packed) packB(b, bp, k, n, transB, jb0, jb1);
  gemmTiles(a, transA, bp, out, m, n, k, ib0, ib1, jb0, jb1, tmp, bias, apad);
}

// ---------------------------------------------------------------------------------------------
// Convolution helpers (im2col + the matrix product above). geo: int32 [cIn, h, w, kH, kW,
// strideH, strideW, padH, padW, dilationH, dilationW, outH, outW].

/** cols (cIn*kH*kW x outH*outW) = the receptive fields of one sample x (cIn, h, w); 0 in the padding. */
export function im2col(x: usize, cols: usize, geo: usize): void {
  const cIn = load<i32>(geo), h = load<i32>(geo, 4), w = load<i32>(geo, 8), kH = load<i32>(geo, 12), kW = load<i32>(geo, 16);
  const sH = load<i32>(geo, 20), sW = load<i32>(geo, 24), pH = load<i32>(geo, 28), pW = load<i32>(geo, 32);
  const dH = load<i32>(geo, 36), dW = load<i32>(geo, 40), outH = load<i32>(geo, 44), outW = load<i32>(geo, 48);
  let o = cols;
  for (let ci = 0; ci < cIn; ci++) {
    const plane = x + (<usize>(ci * h * w) << 2);
    for (let i = 0; i < kH; i++) {
      for (let j = 0; j < kW; j++) {
        for (let oh = 0; oh < outH; oh++) {
          const ih = oh * sH - pH + i * dH;
          if (ih < 0 || ih >= h) {
            memory.fill(o, 0, <usize>outW << 2);
            o += <usize>outW << 2;
            continue;
          }
          const row = plane + (<usize>(ih * w) << 2);
          let iw = -pW + j * dW;
          if (sW == 1 && iw >= 0 && iw + outW <= w) {
            memory.copy(o, row + (<usize>iw << 2), <usize>outW << 2);
            o += <usize>outW << 2;
            continue;
          }
          for (let ow = 0; ow < outW; ow++, iw += sW, o += 4) store<f32>(o, iw >= 0 && iw < w ? load<f32>(row + (<usize>iw << 2)) : 0);
        }
      }
    }
  }
}

/** dx (cIn, h, w) += each entry of cols (the adjoint of im2col). */
export function col2imAdd(cols: usize, dx: usize, geo: usize): void {
  const cIn = load<i32>(geo), h = load<i32>(geo, 4), w = load<i32>(geo, 8), kH = load<i32>(geo, 12), kW = load<i32>(geo, 16);
  const sH = load<i32>(geo, 20), sW = load<i32>(geo, 24), pH = load<i32>(geo, 28), pW = load<i32>(geo, 32);
  const dH = load<i32>(geo, 36), dW = load<i32>(geo, 40), outH = load<i32>(geo, 44), outW = load<i32>(geo, 48);
  let o = cols;
  for (let ci = 0; ci < cIn; ci++) {
    const plane = dx + (<usize>(ci * h * w) << 2);
    for (let i = 0; i < kH; i++) {
      for (let j = 0; j < kW; j++) {
        for (let oh = 0; oh < outH; oh++) {
          const ih = oh * sH - pH + i * dH;
          if (ih < 0 || ih >= h) {
            o += <usize>outW << 2;
            continue;
          }
          const row = plane + (<usize>(ih * w) << 2);
          let iw = -pW + j * dW;
          for (let ow = 0; ow < outW; ow++, iw += sW, o += 4) {
            if (iw >= 0 && iw < w) {
              const q = row + (<usize>iw << 2);
              store<f32>(q, load<f32>(q) + load<f32>(o));
            }
          }
        }
      }
    }
  }
}

/** y[r, :] += bias[r] for rows of len floats. */
export function addBiasRows(y: usize, bias: usize, rows: i32, len: i32): void {
  for (let r = 0; r < rows; r++) {
    const b = load<f32>(bias + (<usize>r << 2));
    const bv = f32x4.splat(b);
    const p = y + (<usize>r * <usize>len << 2);
    let i = 0;
    for (; i + 4 <= len; i += 4) v128.store(p + (<usize>i << 2), f32x4.add(v128.load(p + (<usize>i << 2)), bv));
    for (; i < len; i++) store<f32>(p + (<usize>i << 2), load<f32>(p + (<usize>i << 2)) + b);
  }
}

/** out[r] += sum of row r (rows of len floats), float64. */
export function sumRowsF64(x: usize, rows: i32, len: i32, out: usize): void {
  for (let r = 0; r < rows; r++) {
    const t = sumRunF64(x + (<usize>r * <usize>len << 2), len, 0, false);
    store<f64>(out + (<usize>r << 3), load<f64>(out + (<usize>r << 3)) + t);
  }
}

// ---------------------------------------------------------------------------------------------
// Elementwise activations on [0, len) of each pointer (the caller offsets pointers to split).

// e^x for x <= 0 (Cephes expf: range reduction by ln 2, degree-6 polynomial, ~1 ulp),
// clamped at -87 so 2^n stays a normal float; e^-87 ~ 1.6e-38 stands in for anything smaller.
@inline function expNeg(x: v128): v128 {
  // pmax is one instruction (max's NaN rules cost eight); a NaN x still comes through (x < -87 is false).
  x = f32x4.pmax(x, f32x4.splat(-87.0));
  // n = round(x log2 e) by the 1.5 * 2^23 trick: the sum's low mantissa bits hold n.
  const t = f32x4.add(f32x4.mul(x, f32x4.splat(1.44269504088896341)), f32x4.splat(12582912.0));
  const fx = f32x4.sub(t, f32x4.splat(12582912.0));
  let r = f32x4.sub(x, f32x4.mul(fx, f32x4.splat(0.693359375)));
  r = f32x4.sub(r, f32x4.mul(fx, f32x4.splat(-2.12194440e-4)));
  const z = f32x4.mul(r, r);
  let y = f32x4.splat(1.9875691500e-4);
  y = f32x4.add(f32x4.mul(y, r), f32x4.splat(1.3981999507e-3));
  y = f32x4.add(f32x4.mul(y, r), f32x4.splat(8.3334519073e-3));
  y = f32x4.add(f32x4.mul(y, r), f32x4.splat(4.1665795894e-2));
  y = f32x4.add(f32x4.mul(y, r), f32x4.splat(1.6666665459e-1));
  y = f32x4.add(f32x4.mul(y, r), f32x4.splat(5.0000001201e-1));
  y = f32x4.add(f32x4.add(f32x4.mul(y, z), r), f32x4.splat(1.0));
  const pow2 = i32x4.shl(i32x4.sub(t, i32x4.splat(0x4b400000 - 127)), 23);
  return f32x4.mul(y, pow2);
}

@inline function sigmoidV(x: v128): v128 {
  // e = e^-|x| <= 1; sigmoid = 1 / (1 + e) for x >= 0, e / (1 + e) otherwise (as the reference).
  const e = expNeg(v128.or(x, i32x4.splat(<i32>0x80000000))); // -|x|
  const inv = f32x4.div(f32x4.splat(1.0), f32x4.add(f32x4.splat(1.0), e));
  return v128.bitselect(inv, f32x4.mul(e, inv), f32x4.ge(x, f32x4.splat(0)));
}

@inline function tanhV(x: v128): v128 {
  const ax = f32x4.abs(x);
  // |x| >= 0.625: 1 - 2 / (e^2|x| + 1) = (1 - e) / (1 + e) with e = e^-2|x|.
  const e = expNeg(f32x4.mul(ax, f32x4.splat(-2.0)));
  const big = f32x4.div(f32x4.sub(f32x4.splat(1.0), e), f32x4.add(f32x4.splat(1.0), e));
  // |x| < 0.625: odd polynomial (Cephes tanhf), no cancellation near 0.
  const s = f32x4.mul(x, x);
  let p = f32x4.splat(-5.70498872745e-3);
  p = f32x4.add(f32x4.mul(p, s), f32x4.splat(2.06390887954e-2));
  p = f32x4.add(f32x4.mul(p, s), f32x4.splat(-5.37397155531e-2));
  p = f32x4.add(f32x4.mul(p, s), f32x4.splat(1.33314422036e-1));
  p = f32x4.add(f32x4.mul(p, s), f32x4.splat(-3.33332819422e-1));
  const small = f32x4.add(f32x4.mul(f32x4.mul(p, s), ax), ax);
  const t = v128.bitselect(small, big, f32x4.lt(ax, f32x4.splat(0.625)));
  // Copy the sign of x back.
  return v128.or(t, v128.and(x, i32x4.splat(<i32>0x80000000)));
}

// Applies f to whole vectors and to the tail through a zero-padded vector in tmp (16 bytes).
export function sigmoidF32(x: usize, y: usize, len: i32, tmp: usize): void {
  let i = 0;
  // Two independent vectors an iteration: the polynomial is one long dependency chain.
  for (; i + 8 <= len; i += 8) {
    const o = <usize>i << 2;
    const a = sigmoidV(v128.load(x + o)), b = sigmoidV(v128.load(x + o, 16));
    v128.store(y + o, a);
    v128.store(y + o, b, 16);
  }
  for (; i + 4 <= len; i += 4) v128.store(y + (<usize>i << 2), sigmoidV(v128.load(x + (<usize>i << 2))));
  if (i < len) {
    v128.store(tmp, f32x4.splat(0));
    for (let j = i; j < len; j++) store<f32>(tmp + (<usize>(j - i) << 2), load<f32>(x + (<usize>j << 2)));
    v128.store(tmp, sigmoidV(v128.load(tmp)));
    for (let j = i; j < len; j++) store<f32>(y + (<usize>j << 2), load<f32>(tmp + (<usize>(j - i) << 2)));
  }
}

export function tanhF32(x: usize, y: usize, len: i32, tmp: usize): void {
  let i = 0;
  for (; i + 4 <= len; i += 4) v128.store(y + (<usize>i << 2), tanhV(v128.load(x + (<usize>i << 2))));
  if (i < len) {
    v128.store(tmp, f32x4.splat(0));
    for (let j = i; j < len; j++) store<f32>(tmp + (<usize>(j - i) << 2), load<f32>(x + (<usize>j << 2)));
    v128.store(tmp, tanhV(v128.load(tmp)));
    for (let j = i; j < len; j++) store<f32>(y + (<usize>j << 2), load<f32>(tmp + (<usize>(j - i) << 2)));
  }
}

/** dx = dy * y * (1 - y). */
export function sigmoidBackwardF32(y: usize, dy: usize, dx: usize, len: i32): void {
  const one = f32x4.splat(1.0);
  let i = 0;
  for (; i + 4 <= len; i += 4) {
    const o = <usize>i << 2;
    const yv = v128.load(y + o);
    v128.store(dx + o, f32x4.mul(f32x4.mul(v128.load(dy + o), yv), f32x4.sub(one, yv)));
  }
  for (; i < len; i++) {
    const o = <usize>i << 2;
    const yv = load<f32>(y + o);
    store<f32>(dx + o, load<f32>(dy + o) * yv * (1 - yv));
  }
}

/** dx = dy * (1 - y^2). */
export function tanhBackwardF32(y: usize, dy: usize, dx: usize, len: i32): void {
  const one = f32x4.splat(1.0);
  let i = 0;
  for (; i + 4 <= len; i += 4) {
    const o = <usize>i << 2;
    const yv = v128.load(y + o);
    v128.store(dx + o, f32x4.mul(v128.load(dy + o), f32x4.sub(one, f32x4.mul(yv, yv))));
  }
  for (; i < len; i++) {
    const o = <usize>i << 2;
    const yv = load<f32>(y + o);
    store<f32>(dx + o, load<f32>(dy + o) * (1 - yv * yv));
  }
}

/** y = x < 0 ? 0 : x, as the reference and PyTorch: NaN stays NaN (a divergence reaches the loss), -0 stays -0. */
export function reluF32(x: usize, y: usize, len: i32): void {
  const zero = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= len; i += 4) {
    const o = <usize>i << 2;
    const v = v128.load(x + o);
    v128.store(y + o, v128.andnot(v, f32x4.lt(v, zero)));
  }
  for (; i < len; i++) {
    const o = <usize>i << 2;
    const v = load<f32>(x + o);
    store<f32>(y + o, v < 0 ? 0 : v);
  }
}

/** dx = 0 where x <= 0, else dy (NaN passes dy, as PyTorch's threshold_backward). */
export function reluBackwardF32(x: usize, dy: usize, dx: usize, len: i32): void {
  const zero = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= len; i += 4) {
    const o = <usize>i << 2;
    v128.store(dx + o, v128.andnot(v128.load(dy + o), f32x4.le(v128.load(x + o), zero)));
  }
  for (; i < len; i++) {
    const o = <usize>i << 2;
    store<f32>(dx + o, load<f32>(x + o) <= 0 ? 0 : load<f32>(dy + o));
  }
}

/** out[j] = sum over rows of x[r * cols + j], float64 accumulation (a bias gradient). */
export function columnSumsF32(x: usize, rows: i32, cols: i32, out: usize): void {
  const rb = <usize>cols << 2;
  let j = 0;
  for (; j + 4 <= cols; j += 4) {
    let lo = f64x2.splat(0), hi = f64x2.splat(0);
    let p = x + (<usize>j << 2);
    for (let r = 0; r < rows; r++, p += rb) {
      const v = v128.load(p);
      lo = f64x2.add(lo, f64x2.promote_low_f32x4(v));
      hi = f64x2.add(hi, f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 0, 1)));
    }
    v128.store(out + (<usize>j << 2), v128.shuffle<f32>(f32x4.demote_f64x2_zero(lo), f32x4.demote_f64x2_zero(hi), 0, 1, 4, 5));
  }
  for (; j < cols; j++) {
    let t: f64 = 0;
    let p = x + (<usize>j << 2);
    for (let r = 0; r < rows; r++, p += rb) t += <f64>load<f32>(p);
    store<f32>(out + (<usize>j << 2), <f32>t);
  }
}

// ---------------------------------------------------------------------------------------------
// Max pooling, planes [p0, p1) of (N*C, H, W). geo: int32 [h, w, kH, kW, sH, sW, pH, pW, dH,
// dW, outH, outW]. The maximum of each window and its position in the plane (row * w + col);
// ties go to the first in row-major window order, a NaN wins (the last NaN), as PyTorch.

export function maxPool2dF32(x: usize, y: usize, idx: usize, geo: usize, p0: i32, p1: i32): void {
  const h = load<i32>(geo), w = load<i32>(geo, 4), kH = load<i32>(geo, 8), kW = load<i32>(geo, 12);
  const sH = load<i32>(geo, 16), sW = load<i32>(geo, 20), pH = load<i32>(geo, 24), pW = load<i32>(geo, 28);
  const dH = load<i32>(geo, 32), dW = load<i32>(geo, 36), outH = load<i32>(geo, 40), outW = load<i32>(geo, 44);
  const simple2x2 = kH == 2 && kW == 2 && sH == 2 && sW == 2 && pH == 0 && pW == 0 && dH == 1 && dW == 1;
  for (let plane = p0; plane < p1; plane++) {
    const xp = x + (<usize>plane * <usize>(h * w) << 2);
    const yo = <usize>plane * <usize>(outH * outW);
    for (let oh = 0; oh < outH; oh++) {
      let ow = 0;
      if (simple2x2) {
        // Four outputs at a time: the even and odd columns of input rows 2 oh and 2 oh + 1.
        const r0 = xp + (<usize>(2 * oh * w) << 2), r1 = r0 + (<usize>w << 2);
        const base = 2 * oh * w;
        for (; ow + 4 <= outW; ow += 4) {
          const o = <usize>(2 * ow) << 2;
          const a0 = v128.load(r0 + o), a1 = v128.load(r0 + o, 16), b0 = v128.load(r1 + o), b1 = v128.load(r1 + o, 16);
          const col = i32x4.add(i32x4.splat(base + 2 * ow), v128(0, 0, 0, 0, 2, 0, 0, 0, 4, 0, 0, 0, 6, 0, 0, 0));
          let m = v128.shuffle<f32>(a0, a1, 0, 2, 4, 6);
          let mi = col;
          let v = v128.shuffle<f32>(a0, a1, 1, 3, 5, 7);
          let t = v128.or(f32x4.gt(v, m), f32x4.ne(v, v));
          m = v128.bitselect(v, m, t); mi = v128.bitselect(i32x4.add(col, i32x4.splat(1)), mi, t);
          v = v128.shuffle<f32>(b0, b1, 0, 2, 4, 6);
          t = v128.or(f32x4.gt(v, m), f32x4.ne(v, v));
          m = v128.bitselect(v, m, t); mi = v128.bitselect(i32x4.add(col, i32x4.splat(w)), mi, t);
          v = v128.shuffle<f32>(b0, b1, 1, 3, 5, 7);
          t = v128.or(f32x4.gt(v, m), f32x4.ne(v, v));
          m = v128.bitselect(v, m, t); mi = v128.bitselect(i32x4.add(col, i32x4.splat(w + 1)), mi, t);
          const q = (yo + <usize>(oh * outW + ow)) << 2;
          v128.store(y + q, m);
          v128.store(idx + q, mi);
        }
      }
      let hStart = oh * sH - pH;
      const hEnd = min(hStart + (kH - 1) * dH + 1, h);
      while (hStart < 0) hStart += dH;
      for (; ow < outW; ow++) {
        let wStart = ow * sW - pW;
        const wEnd = min(wStart + (kW - 1) * dW + 1, w);
        while (wStart < 0) wStart += dW;
        let best = -1; // no input in the window (all padding): output -Infinity, no gradient
        let mv: f32 = -Infinity;
        for (let ih = hStart; ih < hEnd; ih += dH) {
          for (let iw = wStart; iw < wEnd; iw += dW) {
            const i = ih * w + iw;
            const v = load<f32>(xp + (<usize>i << 2));
            if (v > mv || v != v) {
              mv = v;
              best = i;
            }
          }
        }
        const q = (yo + <usize>(oh * outW + ow)) << 2;
        store<f32>(y + q, mv);
        store<i32>(idx + q, best);
      }
    }
  }
}

/** dx planes [p0, p1) = zeros plus each dy added at its window's argmax. */
export function maxPool2dBackwardF32(dy: usize, idx: usize, dx: usize, inPlane: i32, outPlane: i32, p0: i32, p1: i32): void {
  for (let plane = p0; plane < p1; plane++) {
    const xp = dx + (<usize>plane * <usize>inPlane << 2);
    memory.fill(xp, 0, <usize>inPlane << 2);
    const yo = <usize>plane * <usize>outPlane << 2;
    for (let o = 0; o < outPlane; o++) {
      const q = yo + (<usize>o << 2);
      const at = load<i32>(idx + q);
      if (at < 0) continue;
      const p = xp + (<usize>at << 2);
      store<f32>(p, load<f32>(p) + load<f32>(dy + q));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Optimizer updates, in place on [0, len), float32 arithmetic as PyTorch's (see the kernel
// table for the formulas).

/** SGD: flags bit 0 nesterov, bit 1 first update of the buffer; buf 0 = no momentum. */
export function sgdF32(w: usize, g: usize, buf: usize, len: i32, lr: f32, momentum: f32, oneMinusDampening: f32, wd: f32, flags: i32): void {
  // 1 - dampening comes from the caller, computed in float64 then rounded (as PyTorch's alpha).
  const lrv = f32x4.splat(lr), wdv = f32x4.splat(wd), mv = f32x4.splat(momentum), dv = f32x4.splat(oneMinusDampening);
  const nesterov = (flags & 1) != 0, first = (flags & 2) != 0;
  let i = 0;
  if (buf == 0) {
    for (; i + 4 <= len; i += 4) {
      const o = <usize>i << 2;
      const wv = v128.load(w + o);
      const gv = f32x4.add(v128.load(g + o), f32x4.mul(wdv, wv));
      v128.store(w + o, f32x4.sub(wv, f32x4.mul(lrv, gv)));
    }
  } else {
    for (; i + 4 <= len; i += 4) {
      const o = <usize>i << 2;
      const wv = v128.load(w + o);
      let gv = f32x4.add(v128.load(g + o), f32x4.mul(wdv, wv));
      const bv = first ? gv : f32x4.add(f32x4.mul(mv, v128.load(buf + o)), f32x4.mul(dv, gv));
      v128.store(buf + o, bv);
      gv = nesterov ? f32x4.add(gv, f32x4.mul(mv, bv)) : bv;
      v128.store(w + o, f32x4.sub(wv, f32x4.mul(lrv, gv)));
    }
  }
  for (; i < len; i++) {
    const o = <usize>i << 2;
    const wv = load<f32>(w + o);
    let gv = load<f32>(g + o) + wd * wv;
    if (buf != 0) {
      const bv = first ? gv : momentum * load<f32>(buf + o) + oneMinusDampening * gv;
      store<f32>(buf + o, bv);
      gv = nesterov ? gv + momentum * bv : bv;
    }
    store<f32>(w + o, wv - lr * gv);
  }
}

/** Adam: w -= stepSize * m / (sqrt(v) / bc2Sqrt + eps) after the moment updates. */
export function adamF32(w: usize, g: usize, m: usize, v: usize, len: i32, stepSize: f32, bc2Sqrt: f32, b1: f32, b2: f32, c1: f32, c2: f32, eps: f32, wd: f32): void {
  // c1 = 1 - beta1 and c2 = 1 - beta2 come from the caller, computed in float64 then rounded (as
  // PyTorch's alpha): 1 - 0.999f in float32 is 9.99987e-4, not 0.001, which the float64 bias
  // correction does not cancel (every step 6.4e-6 relative too large).
  const ssv = f32x4.splat(stepSize), bcv = f32x4.splat(bc2Sqrt), b1v = f32x4.splat(b1), b2v = f32x4.splat(b2);
  const c1v = f32x4.splat(c1), c2v = f32x4.splat(c2), epsv = f32x4.splat(eps), wdv = f32x4.splat(wd);
  let i = 0;
  for (; i + 4 <= len; i += 4) {
    const o = <usize>i << 2;
    const wv = v128.load(w + o);
    const gv = f32x4.add(v128.load(g + o), f32x4.mul(wdv, wv));
    const mn = f32x4.add(f32x4.mul(b1v, v128.load(m + o)), f32x4.mul(c1v, gv));
    const vn = f32x4.add(f32x4.mul(b2v, v128.load(v + o)), f32x4.mul(c2v, f32x4.mul(gv, gv)));
    v128.store(m + o, mn);
    v128.store(v + o, vn);
    const denom = f32x4.add(f32x4.div(f32x4.sqrt(vn), bcv), epsv);
    v128.store(w + o, f32x4.sub(wv, f32x4.div(f32x4.mul(ssv, mn), denom)));
  }
  for (; i < len; i++) {
    const o = <usize>i << 2;
    const wv = load<f32>(w + o);
    const gv = load<f32>(g + o) + wd * wv;
    const mn = b1 * load<f32>(m + o) + c1 * gv;
    const vn = b2 * load<f32>(v + o) + c2 * gv * gv;
    store<f32>(m + o, mn);
    store<f32>(v + o, vn);
    store<f32>(w + o, wv - stepSize * mn / (Mathf.sqrt(vn) / bc2Sqrt + eps));
  }
}

// ---------------------------------------------------------------------------------------------
// Memory-bandwidth probes for the benchmark floor.

/** y = x (1 read + 1 write per element). */
export function copyF32(x: usize, y: usize, len: i32): void {
  let i = 0;
  for (; i + 8 <= len; i += 8) {
    const o = <usize>i << 2;
    v128.store(y + o, v128.load(x + o));
    v128.store(y + o, v128.load(x + o, 16), 16);
  }
  for (; i < len; i++) store<f32>(y + (<usize>i << 2), load<f32>(x + (<usize>i << 2)));
}

/** out = a + b (2 reads + 1 write per element). */
export function addF32(a: usize, b: usize, out: usize, len: i32): void {
  let i = 0;
  for (; i + 4 <= len; i += 4) {
    const o = <usize>i << 2;
    v128.store(out + o, f32x4.add(v128.load(a + o), v128.load(b + o)));
  }
  for (; i < len; i++) store<f32>(out + (<usize>i << 2), load<f32>(a + (<usize>i << 2)) + load<f32>(b + (<usize>i << 2)));
}

/** Sum of x (1 read per element); float32 lanes, for timing only. */
export function sumF32(x: usize, len: i32): f32 {
  // Four accumulators, so the adds' latency stays below memory speed (bench/kernels.ts times
  // this as the cost of reading an array once).
  let a = f32x4.splat(0), b = f32x4.splat(0), e = f32x4.splat(0), d = f32x4.splat(0);
  let i = 0;
  for (; i + 16 <= len; i += 16) {
    const o = <usize>i << 2;
    a = f32x4.add(a, v128.load(x + o));
    b = f32x4.add(b, v128.load(x + o, 16));
    e = f32x4.add(e, v128.load(x + o, 32));
    d = f32x4.add(d, v128.load(x + o, 48));
  }
  a = f32x4.add(f32x4.add(a, b), f32x4.add(e, d));
  let t = f32x4.extract_lane(a, 0) + f32x4.extract_lane(a, 1) + f32x4.extract_lane(a, 2) + f32x4.extract_lane(a, 3);
  for (; i < len; i++) t += load<f32>(x + (<usize>i << 2));
  return t;
}
