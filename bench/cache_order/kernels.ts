// AssemblyScript (SIMD128) for bench/cache_order/run.ts: a float32 NCHW tensor normalised per
// channel, in memory order (two full passes: the kernels' order) and in channel order (each
// channel's statistics, then its normalisation while the channel is still in cache). The
// arithmetic is a stand-in (sum, then y = x * k + m); what is measured is the memory traffic.
// Compiled by run.ts on each run; not part of the library.

/** Sum of x[0, len), four accumulators. */
export function readAll(x: usize, len: i32): f32 {
  let a = f32x4.splat(0), b = f32x4.splat(0), c = f32x4.splat(0), d = f32x4.splat(0);
  for (let i = 0; i + 16 <= len; i += 16) {
    const o = x + (<usize>i << 2);
    a = f32x4.add(a, v128.load(o));
    b = f32x4.add(b, v128.load(o, 16));
    c = f32x4.add(c, v128.load(o, 32));
    d = f32x4.add(d, v128.load(o, 48));
  }
  const t = f32x4.add(f32x4.add(a, b), f32x4.add(c, d));
  return f32x4.extract_lane(t, 0) + f32x4.extract_lane(t, 1) + f32x4.extract_lane(t, 2) + f32x4.extract_lane(t, 3);
}

/** y = x (the floor). */
export function copyAll(x: usize, y: usize, len: i32): void {
  for (let i = 0; i + 8 <= len; i += 8) {
    const o = <usize>i << 2;
    v128.store(y + o, v128.load(x + o));
    v128.store(y + o, v128.load(x + o, 16), 16);
  }
}

@inline function affine(x: usize, y: usize, len: i32, k: v128, m: v128): void {
  for (let i = 0; i + 8 <= len; i += 8) {
    const o = <usize>i << 2;
    v128.store(y + o, f32x4.add(f32x4.mul(v128.load(x + o), k), m));
    v128.store(y + o, f32x4.add(f32x4.mul(v128.load(x + o, 16), k), m), 16);
  }
}

/** Memory order: the whole tensor read for its statistics, then read again and written. */
export function twoPass(x: usize, y: usize, len: i32): void {
  affine(x, y, len, f32x4.splat(0.5), f32x4.splat(readAll(x, len) * 1e-9));
}

/** Sum of channel ch over the samples: `lanes` samples' runs read side by side (1 or 4). */
@inline function channelSum(x: usize, n: i32, c: i32, s: i32, ch: i32, lanes: i32): f32 {
  const rs = <usize>c * <usize>s << 2;
  let a = f32x4.splat(0), b = f32x4.splat(0), e = f32x4.splat(0), d = f32x4.splat(0);
  if (lanes == 4) {
    for (let i = 0; i + 4 <= n; i += 4) {
      const p = x + <usize>i * rs + (<usize>ch * <usize>s << 2);
      for (let j = 0; j + 4 <= s; j += 4) {
        const o = p + (<usize>j << 2);
        a = f32x4.add(a, v128.load(o));
        b = f32x4.add(b, v128.load(o + rs));
        e = f32x4.add(e, v128.load(o + 2 * rs));
        d = f32x4.add(d, v128.load(o + 3 * rs));
      }
    }
  } else {
    for (let i = 0; i < n; i++) {
      const p = x + <usize>i * rs + (<usize>ch * <usize>s << 2);
      for (let j = 0; j + 8 <= s; j += 8) {
        const o = p + (<usize>j << 2);
        a = f32x4.add(a, v128.load(o));
        b = f32x4.add(b, v128.load(o, 16));
      }
    }
  }
  const t = f32x4.add(f32x4.add(a, b), f32x4.add(e, d));
  return f32x4.extract_lane(t, 0) + f32x4.extract_lane(t, 1);
}

/**
 * Channel order: per channel, its statistics, then its normalisation from cache, each reading
 * (and writing) `lanes` samples' runs side by side: 1 or 4.
 */
export function channelOrder(x: usize, y: usize, n: i32, c: i32, s: i32, lanes: i32): void {
  const rs = <usize>c * <usize>s << 2;
  for (let ch = 0; ch < c; ch++) {
    const m = f32x4.splat((lanes == 4 ? channelSum(x, n, c, s, ch, 4) : channelSum(x, n, c, s, ch, 1)) * 1e-6);
    const k = f32x4.splat(0.5);
    const base = <usize>ch * <usize>s << 2;
    if (lanes == 4) {
      for (let i = 0; i + 4 <= n; i += 4) {
        const off = <usize>i * rs + base;
        for (let j = 0; j + 4 <= s; j += 4) {
          const o = off + (<usize>j << 2);
          v128.store(y + o, f32x4.add(f32x4.mul(v128.load(x + o), k), m));
          v128.store(y + o + rs, f32x4.add(f32x4.mul(v128.load(x + o + rs), k), m));
          v128.store(y + o + 2 * rs, f32x4.add(f32x4.mul(v128.load(x + o + 2 * rs), k), m));
          v128.store(y + o + 3 * rs, f32x4.add(f32x4.mul(v128.load(x + o + 3 * rs), k), m));
        }
      }
    } else {
      for (let i = 0; i < n; i++) affine(x + <usize>i * rs + base, y + <usize>i * rs + base, s, k, m);
    }
  }
}

/** Groups of g channels: each channel's statistics (4 runs side by side), then the group normalised sample by sample. */
export function groupOrder(x: usize, y: usize, n: i32, c: i32, s: i32, g: i32): void {
  const rs = <usize>c * <usize>s << 2;
  for (let g0 = 0; g0 < c; g0 += g) {
    const g1 = min(c, g0 + g);
    let acc: f32 = 0;
    for (let ch = g0; ch < g1; ch++) acc += channelSum(x, n, c, s, ch, 4);
    const m = f32x4.splat(acc * 1e-9), k = f32x4.splat(0.5);
    const base = <usize>g0 * <usize>s << 2;
    for (let i = 0; i < n; i++) affine(x + <usize>i * rs + base, y + <usize>i * rs + base, (g1 - g0) * s, k, m);
  }
}
