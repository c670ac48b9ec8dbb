// The conformance suite: every kernel test runs against every backend (ref; wasm on 1 thread;
// wasm on 2 threads; the wasm build without relaxed SIMD, on 2 threads) with the same tolerances. The truth is the reference kernel run on float64
// copies of the same float32 inputs (the definition, in wider arithmetic), plus PyTorch's own
// BatchNorm numbers (test/fixtures/batchnorm.json) replayed through the modules on each backend.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  backendInfo, getBackend, ready, getNumThreads, kernels, listBackends, refKernels, registerBackend, setBackend, setNumThreads, type FloatArray,
} from '../src/kernels/index.js';
import { createWasmBackend, wasmRuntime } from '../src/kernels/wasm/index.js';
import { nodePlatform } from '../src/kernels/wasm/node.js';
import { browserPlatform, WasmRuntime } from '../src/kernels/wasm/runtime.js';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { allocate } from '../src/tensor/tensor.js';
import { batchNorm, linear, RNG, tensor, zeros, type Tensor } from '../src/index.js';
import { fixture, replay } from './bnFixture.js';
import { assertClose, FLOAT32, FLOAT64, type Tolerance } from './helpers.js';

// The default wasm runtime takes the relaxed-SIMD build (fused multiply-add) when the engine has
// it, as Node 20 does behind a flag the runtime sets; a second runtime with BATCHNORM_WASM_RELAXED=0
// is the build every other engine gets, registered as its own backend.
process.env.BATCHNORM_WASM_RELAXED = '0';
const plainRuntime = new WasmRuntime(nodePlatform());
delete process.env.BATCHNORM_WASM_RELAXED;
registerBackend(createWasmBackend(plainRuntime, 'wasm-plain'));
const root = fileURLToPath(new URL('..', import.meta.url));

const BACKENDS = [
  { name: 'ref', threads: 1 },
  { name: 'wasm', threads: 1 },
  { name: 'wasm', threads: 2 },
  { name: 'wasm-plain', threads: 2 },
];

test('the wasm backend is available under Node and is the default', () => {
  assert.ok(listBackends().includes('wasm'), `backends: ${listBackends().join(', ')}`);
  if (!process.env.BATCHNORM_BACKEND) assert.equal(getBackend(), 'wasm');
  assert.ok(wasmRuntime?.shared, 'shared memory');
});

test('under Node the default runtime runs the relaxed-SIMD build; BATCHNORM_WASM_RELAXED=0 gives the other', () => {
  if (process.env.BATCHNORM_WASM_RELAXED !== '0') assert.equal(wasmRuntime?.relaxed, true);
  assert.equal(plainRuntime.relaxed, false);
  // The two builds are different code: a fused multiply-add rounds once. [-(1 + 2^-11), 1 + 2^-12]
  // times [1, 1 + 2^-12] is -(1 + 2^-11) + (1 + 2^-11 + 2^-24) = 2^-24 exactly; rounding the
  // second product to float32 first (ties to even) loses the 2^-24 and gives 0.
  const a = Float32Array.of(-(1 + 2 ** -11), 1 + 2 ** -12);
  const b = Float32Array.of(1, 1, 1, 1, ...Array(4).fill(1 + 2 ** -12));
  const product = (backend: string) => {
    setBackend(backend);
    const out = new Float32Array(4);
    kernels().matmul(a, b, out, 1, 2, 4, false, false);
    return Array.from(out);
  };
  const saved = getBackend();
  assert.deepEqual(product('wasm-plain'), [0, 0, 0, 0]);
  if (wasmRuntime?.relaxed) assert.deepEqual(product('wasm'), Array(4).fill(2 ** -24));
  setBackend(saved);
});

test('backendInfo says how the kernels run and what keeps them from the fastest setting', () => {
  const saved = [getBackend(), getNumThreads()] as const;
  try {
    setBackend('wasm');
    const info = backendInfo();
    assert.deepEqual({ ...info, threads: undefined }, { backend: 'wasm', threads: undefined, sharedMemory: true, relaxedSimd: true, limits: [] });
    setNumThreads(64);
    assert.deepEqual(backendInfo().limits, ['64 threads asked, at most 16 here']);
    setBackend('ref');
    assert.deepEqual(backendInfo(), {
      backend: 'ref', threads: 1, sharedMemory: false, relaxedSimd: false,
      limits: ["the reference kernels were chosen (setBackend('ref') or BATCHNORM_BACKEND=ref); 'wasm' is available"],
    });
  } finally {
    setBackend(saved[0]);
    setNumThreads(saved[1]);
  }
  assert.deepEqual(plainRuntime.limits(), ['plain SIMD build (BATCHNORM_WASM_RELAXED=0)']);
  assert.match(new WasmRuntime(null, 'no Worker here').limits()[0], /^one thread: no Worker here$/);
  assert.equal(browserPlatform(), 'no Worker here', 'Node has no Web Worker global');
  // Private memory (a page without cross-origin isolation), and no WebAssembly at all (V8 --jitless).
  const probe = (env: Record<string, string>, flags: string[] = []) => JSON.parse(execFileSync(process.execPath, [...flags, '--import', 'tsx', '-e',
    `import('./src/kernels/index.ts').then((k) => { let e = ''; try { k.setBackend('wasm'); } catch (err) { e = err.message; } console.log(JSON.stringify({ ...k.backendInfo(), e })); })`],
  { cwd: root, env: { ...process.env, ...env }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }));
  const priv = probe({ BATCHNORM_WASM_SHARED: '0' });
  assert.deepEqual([priv.backend, priv.threads, priv.sharedMemory], ['wasm', 1, false]);
  assert.match(priv.limits[0], /^one thread: the WebAssembly memory is not shared \(BATCHNORM_WASM_SHARED=0\), so one thread, and each kernel call copies its tensors in and out$/);
  const none = probe({}, ['--jitless']);
  assert.deepEqual([none.backend, none.limits], ['ref', ['WebAssembly is not available here']]);
  assert.equal(none.e, "unknown backend 'wasm' (available: ref): WebAssembly is not available here");
});

test('ready() waits for the thread workers: refused ones leave one thread, said in limits; kernels give the same numbers', async () => {
  const node = nodePlatform()!;
  const rows = 64, c = 256; // (N, C): the rows kernels, 8 parts whatever the thread count
  const x = normals(rows * c, 7, 2, 3).map(Math.fround);
  const trainOn = (rt: WasmRuntime) => {
    const k = createWasmBackend(rt, 'wasm-ready-test').kernels;
    const y = rt.allocate(true, rows * c) as Float32Array, xs = rt.allocate(true, rows * c) as Float32Array;
    xs.set(x);
    const st = [new Float64Array(c), new Float64Array(c), new Float64Array(c)] as const;
    k.batchNormTrainForward!(xs, { n: rows, c, s: 1 }, null, null, 1e-5, y, ...st);
    return [Array.from(y), ...st.map((a) => Array.from(a))];
  };
  // A browser refuses a blob: worker (Content-Security-Policy) by an error event after the
  // Worker was made: nothing throws at spawn.
  let spawned = 0;
  const refusing = new WasmRuntime({
    cores: () => 2,
    spawn: (_source, _data, failed) => {
      spawned++;
      setTimeout(() => failed('refused by worker-src'), 5);
      return { terminate() {} };
    },
  });
  refusing.setNumThreads(2);
  assert.equal(refusing.numThreads(), 2, 'nothing known before the workers are started');
  await refusing.ready();
  assert.equal(spawned, 1, 'one worker for two threads');
  assert.equal(refusing.numThreads(), 1, 'one thread after the refusal');
  assert.deepEqual(refusing.limits(), ['2 threads asked, at most 1 here', 'thread workers could not start (refused by worker-src), so one thread; in a browser, a Content-Security-Policy must allow worker-src blob:']);
  refusing.setNumThreads(2);
  assert.equal(refusing.numThreads(), 1, 'no second try: the platform refuses');
  // Workers that start (Node's) are counted started: two threads, nothing said.
  const starting = new WasmRuntime(node);
  starting.setNumThreads(2);
  await starting.ready();
  assert.equal(starting.numThreads(), 2);
  assert.deepEqual(starting.limits(), []);
  assert.deepEqual(trainOn(refusing), trainOn(starting), 'same numbers on one thread as on two');
  starting.terminate();
  // A worker that neither starts nor fails: ready() gives up after its timeout, on one thread.
  const silent = new WasmRuntime({ cores: () => 2, spawn: () => ({ terminate() {} }) });
  silent.setNumThreads(2);
  await silent.ready(50);
  assert.equal(silent.numThreads(), 1);
  assert.match(silent.limits()[1] ?? '', /^thread workers could not start \(1 of 1 thread workers had not started after 0\.05 s\)/);
  // The library's own: ready() resolves with backendInfo.
  const info = await ready();
  assert.deepEqual(info, backendInfo());
});

test('a malformed BATCHNORM_THREADS or BATCHNORM_WASM_MEMORY_MB is an error at import, not a silent default', () => {
  // Before: '256MB' made the budget NaN (no tensor in wasm memory, every call copying) and
  // 'abc' threads fell back to the default, both without a word.
  const load = (env: Record<string, string>) => {
    try {
      return execFileSync(process.execPath, ['--import', 'tsx', '-e', "import('./src/index.ts').then((b) => console.log(b.backendInfo().threads))"],
        { cwd: root, env: { ...process.env, ...env }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
    } catch (e) {
      return String((e as { stderr: string }).stderr).match(/EnvironmentError \[RangeError\]: (.*)/)?.[1] ?? String(e);
    }
  };
  assert.equal(load({ BATCHNORM_THREADS: 'abc' }), "BATCHNORM_THREADS must be a whole number >= 1 (got 'abc')");
  assert.equal(load({ BATCHNORM_THREADS: '1.5' }), "BATCHNORM_THREADS must be a whole number >= 1 (got '1.5')");
  assert.equal(load({ BATCHNORM_WASM_MEMORY_MB: '256MB' }), "BATCHNORM_WASM_MEMORY_MB must be a whole number of megabytes >= 16 (got '256MB')");
  assert.equal(load({ BATCHNORM_THREADS: '1', BATCHNORM_WASM_MEMORY_MB: '64' }), '1');
});

// ------------------------------------------------------------------------------------------
// Inputs: float32 data, in wasm memory (allocate) or in an ordinary array (the copy path).

type Where = 'wasm' | 'plain';
// Arrays made in wasm memory, handed back at the end of each backend's suite: left to the
// garbage collector, which runs rarely here (the arrays are small objects on V8's heap), they
// would fill the wasm budget, and later tests would get ordinary arrays.
const inWasm: Float32Array[] = [];
function f32(values: ArrayLike<number>, where: Where): Float32Array {
  const a = where === 'wasm' ? (allocate('float32', values.length) as Float32Array) : new Float32Array(values.length);
  a.set(values);
  if (where === 'wasm') inWasm.push(a);
  return a;
}
const f64 = (a: ArrayLike<number>) => Float64Array.from(a);

function normals(n: number, seed: number, mean = 0, std = 1): number[] {
  const rng = new RNG(seed);
  return Array.from({ length: n }, () => mean + std * rng.normal());
}

interface BNCase {
  name: string;
  n: number;
  c: number;
  s: number;
  x: (i: number, ch: number) => number | undefined;
}
// Each case sets x[n, c, s] through a generator of (flat index, channel), undefined = normal.
const BN_CASES: BNCase[] = [
  { name: 'planar 4x6x25', n: 4, c: 6, s: 25, x: () => undefined },
  { name: 'planar 3x5x784 (28x28)', n: 3, c: 5, s: 784, x: () => undefined },
  { name: 'odd spatial 5x3x3', n: 5, c: 3, s: 3, x: () => undefined },
  { name: '(N, C) 64x256', n: 64, c: 256, s: 1, x: () => undefined },
  { name: '(N, C) 7x13, C not a multiple of 4', n: 7, c: 13, s: 1, x: () => undefined },
  { name: 'batch of two 2x8x1', n: 2, c: 8, s: 1, x: () => undefined },
  { name: 'large offset 1e4 + 1e-2 noise', n: 8, c: 4, s: 100, x: (i) => 1e4 + 1e-2 * Math.sin(i * 12.9898) },
  { name: 'large offset (N, C)', n: 200, c: 8, s: 1, x: (i) => -3e4 + 3e-2 * Math.sin(i * 78.233) },
  { name: 'constant channel', n: 6, c: 3, s: 20, x: (_, ch) => (ch === 1 ? 2.5 : undefined) },
  { name: 'variance near eps', n: 10, c: 4, s: 30, x: (i) => 1 + 3e-3 * Math.sin(i * 4.1) },
  // Sorted values: the first block is far from the mean, so the kernels' shift must be redone.
  { name: 'sorted ramp (bad shift)', n: 16, c: 2, s: 300, x: (i) => (i % 600) * (i % 600) * 1e-2 },
  { name: 'sorted ramp (N, C)', n: 1000, c: 4, s: 1, x: (i) => Math.floor(i / 4) ** 2 * 1e-3 },
  // 16384 values or more per channel: the kernels' blocked (not exact two-pass) statistics.
  // The mean lies between two floats (1e4 + 4e-4; float32 spacing there is 9.8e-4): its low part
  // is ~6% of the spread, so every place that folds it in (shift, backward sums and dx) counts.
  { name: 'blocked: large offset 4x2x5000', n: 4, c: 2, s: 5000, x: (i) => 1e4 + 4e-4 + 1e-2 * Math.sin(i * 12.9898) },
  { name: 'blocked: sorted ramp 4x2x5000', n: 4, c: 2, s: 5000, x: (i) => (i % 10000) ** 2 * 1e-6 },
  { name: 'blocked: (N, C) 20000x6 large offset', n: 20000, c: 6, s: 1, x: (i) => -3e4 + 3e-2 * Math.sin(i * 78.233) },
  { name: 'blocked: (N, C) 20000x5 sorted', n: 20000, c: 5, s: 1, x: (i) => Math.floor(i / 5) ** 2 * 1e-6 },
  // The first values (those the shift is taken from) far from the rest: sums about that shift
  // cancel (m2 ~ 1e6, variance ~ 2e3), so the kernels must shift again by the mean found.
  { name: 'blocked: first values far off 4x2x5000 (shift redone)', n: 4, c: 2, s: 5000, x: (i) => (i < 10000 && i % 5000 < 64 ? 1e3 : undefined) },
  { name: 'blocked: (N, C) 20000x3 first rows far off (shift redone)', n: 20000, c: 3, s: 1, x: (i) => (i < 3 * 64 ? 1e3 : undefined) },
];

const inputCache = new Map<string, number[]>();
function bnInput(k: BNCase, seed: number): number[] {
  const key = `${k.name} ${k.n} ${k.c} ${k.s} ${seed}`;
  const hit = inputCache.get(key);
  if (hit) return hit;
  const { n, c, s } = k;
  const base = normals(n * c * s, seed, 0.5, 2);
  const out = base.map((v, i) => Math.fround(k.x(i, Math.floor(i / s) % c) ?? v));
  inputCache.set(key, out);
  return out;
}

// Channels-last: the same values laid out (N, S, C). The NHWC kernels run on the transposed
// data and their results, transposed back, must match the NCHW reference.
type Layout = 'NCHW' | 'NHWC';
function toNHWC(a: ArrayLike<number>, n: number, c: number, s: number): number[] {
  const out = new Array<number>(a.length);
  for (let i = 0; i < n; i++) for (let ch = 0; ch < c; ch++) for (let j = 0; j < s; j++) out[(i * s + j) * c + ch] = a[(i * c + ch) * s + j];
  return out;
}
function fromNHWC(a: ArrayLike<number>, n: number, c: number, s: number): number[] {
  const out = new Array<number>(a.length);
  for (let i = 0; i < n; i++) for (let ch = 0; ch < c; ch++) for (let j = 0; j < s; j++) out[(i * c + ch) * s + j] = a[(i * s + j) * c + ch];
  return out;
}

/** BatchNorm train forward on `kernels()` (float32) against ref in float64. */
function checkTrainForward(k: BNCase, affine: boolean, where: Where, layout: Layout = 'NCHW'): void {
  const { n, c, s } = k;
  const dims = { n, c, s };
  const xs = bnInput(k, 11);
  const w = affine ? normals(c, 12, 1, 0.5).map(Math.fround) : null;
  const b = affine ? normals(c, 13).map(Math.fround) : null;
  const yOut = f32(new Float32Array(xs.length), where);
  const [mean, invStd, variance] = [new Float64Array(c), new Float64Array(c), new Float64Array(c)];
  if (layout === 'NCHW') {
    kernels().batchNormTrainForward(f32(xs, where), dims, w && f32(w, where), b && f32(b, where), 1e-5, yOut, mean, invStd, variance);
  } else {
    kernels().batchNormTrainForwardNHWC(f32(toNHWC(xs, n, c, s), where), dims, w && f32(w, where), b && f32(b, where), 1e-5, yOut, mean, invStd, variance);
  }
  const y = layout === 'NCHW' ? yOut : fromNHWC(yOut, n, c, s);
  const ey = new Float64Array(xs.length);
  const [em, ei, ev] = [new Float64Array(c), new Float64Array(c), new Float64Array(c)];
  refKernels.batchNormTrainForward(f64(xs), dims, w && f64(w), b && f64(b), 1e-5, ey, em, ei, ev);
  assertClose(y, ey, FLOAT32, 'y');
  // The mean to 1e-5 of the channel's standard deviation (what the normalised output sees).
  for (let ch = 0; ch < c; ch++) {
    assert.ok(Math.abs(mean[ch] - em[ch]) <= 1e-5 * Math.sqrt(ev[ch]) + 1e-12 * Math.abs(em[ch]), `mean[${ch}]: ${mean[ch]} vs ${em[ch]}`);
  }
  assertClose(variance, ev, FLOAT32, 'variance');
  assertClose(invStd, ei, FLOAT32, 'invStd');
}

function checkInferForward(k: BNCase, f32Stats: boolean, where: Where, layout: Layout = 'NCHW'): void {
  const { n, c, s } = k;
  const dims = { n, c, s };
  const xs = bnInput(k, 21);
  const m = normals(c, 22, xs[0], 0.5).map(Math.fround);
  const v = normals(c, 23).map((z) => Math.fround(0.5 + z * z));
  const w = normals(c, 24, 1, 0.5).map(Math.fround);
  const b = normals(c, 25).map(Math.fround);
  const yOut = f32(new Float32Array(xs.length), where);
  const ms = f32Stats ? Float32Array.from(m) : f64(m);
  const vs = f32Stats ? Float32Array.from(v) : f64(v);
  if (layout === 'NCHW') kernels().batchNormInferForward(f32(xs, where), dims, ms, vs, f32(w, where), f32(b, where), 1e-3, yOut);
  else kernels().batchNormInferForwardNHWC(f32(toNHWC(xs, n, c, s), where), dims, ms, vs, f32(w, where), f32(b, where), 1e-3, yOut);
  const y = layout === 'NCHW' ? yOut : fromNHWC(yOut, n, c, s);
  const ey = new Float64Array(xs.length);
  refKernels.batchNormInferForward(f64(xs), dims, f64(m), f64(v), f64(w), f64(b), 1e-3, ey);
  assertClose(y, ey, FLOAT32, 'y');
}

function checkBackward(k: BNCase, training: boolean, affine: boolean, where: Where, want = { dx: true, dw: true, db: true }, layout: Layout = 'NCHW'): void {
  const { n, c, s } = k;
  const dims = { n, c, s };
  const xs = bnInput(k, 31);
  const dys = normals(xs.length, 32).map(Math.fround);
  const w = affine ? normals(c, 33, 1, 0.5).map(Math.fround) : null;
  // Statistics as the training forward saves them (float64), from the float32 inputs.
  const mean = new Float64Array(c), invStd = new Float64Array(c), variance = new Float64Array(c);
  refKernels.batchNormTrainForward(f64(xs), dims, null, null, 1e-5, new Float64Array(xs.length), mean, invStd, variance);
  const dxOut = want.dx ? f32(new Float32Array(xs.length), where) : null;
  const dw = want.dw ? f32(new Float32Array(c), where) : null;
  const db = want.db ? f32(new Float32Array(c), where) : null;
  if (layout === 'NCHW') {
    kernels().batchNormBackward(f32(dys, where), f32(xs, where), dims, mean, invStd, w && f32(w, where), training, dxOut, dw, db);
  } else {
    kernels().batchNormBackwardNHWC(f32(toNHWC(dys, n, c, s), where), f32(toNHWC(xs, n, c, s), where), dims, mean, invStd, w && f32(w, where), training, dxOut, dw, db);
  }
  const dx = dxOut && (layout === 'NCHW' ? dxOut : fromNHWC(dxOut, n, c, s));
  const edx = new Float64Array(xs.length), edw = new Float64Array(c), edb = new Float64Array(c);
  refKernels.batchNormBackward(f64(dys), f64(xs), dims, mean, invStd, w && f64(w), training, edx, edw, edb);
  // dx in training mode is a difference of terms: scale * (dy - mean(dy) - xHat * mean(dy xHat)).
  // Its error scales with those terms, not with dx (which cancels to ~0 for a batch of two), so
  // the bound is 1e-5 of the largest term magnitude in the channel.
  if (dx) {
    const count = n * s;
    for (let ch = 0; ch < c; ch++) {
      let sumDy = 0, sumDyXhat = 0, maxDy = 0, maxXhat = 0;
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < s; j++) {
          const at = (i * c + ch) * s + j;
          const xHat = (xs[at] - mean[ch]) * invStd[ch];
          sumDy += dys[at];
          sumDyXhat += dys[at] * xHat;
          maxDy = Math.max(maxDy, Math.abs(dys[at]));
          maxXhat = Math.max(maxXhat, Math.abs(xHat));
        }
      }
      const scale = Math.abs(invStd[ch] * (w ? w[ch] : 1));
      const mag = scale * (maxDy + (training ? Math.abs(sumDy / count) + maxXhat * Math.abs(sumDyXhat / count) : 0));
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < s; j++) {
          const at = (i * c + ch) * s + j;
          if (!(Math.abs(dx[at] - edx[at]) <= 1e-5 * mag)) assert.fail(`dx[${at}]: ${dx[at]} vs ${edx[at]} (term scale ${mag})`);
        }
      }
    }
  }
  // Sums of N*S float32 products: 1e-5 of the sum of magnitudes.
  const absDw = new Float64Array(c), absDb = new Float64Array(c);
  for (let i = 0; i < xs.length; i++) {
    const ch = Math.floor(i / s) % c;
    absDb[ch] += Math.abs(dys[i]);
    absDw[ch] += Math.abs(dys[i] * (xs[i] - mean[ch]) * invStd[ch]);
  }
  for (let ch = 0; ch < c; ch++) {
    if (dw) assert.ok(Math.abs(dw[ch] - edw[ch]) <= 1e-5 * absDw[ch] + 1e-30, `dWeight[${ch}]: ${dw[ch]} vs ${edw[ch]}`);
    if (db) assert.ok(Math.abs(db[ch] - edb[ch]) <= 1e-5 * absDb[ch] + 1e-30, `dBias[${ch}]: ${db[ch]} vs ${edb[ch]}`);
  }
}

const MATMUL_SHAPES: [number, number, number][] = [
  [1, 1, 1], [5, 7, 3], [4, 8, 8], [13, 17, 9], [60, 784, 100], [60, 100, 10], [100, 60, 784], [33, 1, 70],
];

const matmulCache = new Map<string, { a: number[]; b: number[]; expected: Float64Array; mag: Float64Array }>();
function matmulCase(m: number, k: number, n: number, transA: boolean, transB: boolean) {
  const key = `${m} ${k} ${n} ${transA} ${transB}`;
  let hit = matmulCache.get(key);
  if (hit) return hit;
  const a = normals(m * k, m * 1000 + k).map(Math.fround);
  const b = normals(k * n, k * 1000 + n + 1).map(Math.fround);
  const expected = new Float64Array(m * n);
  refKernels.matmul(f64(a), f64(b), expected, m, k, n, transA, transB);
  // sum_p |a_ip b_pj|: the same product on absolute values.
  const mag = new Float64Array(m * n);
  refKernels.matmul(f64(a.map(Math.abs)), f64(b.map(Math.abs)), mag, m, k, n, transA, transB);
  hit = { a, b, expected, mag };
  matmulCache.set(key, hit);
  return hit;
}

function checkMatmul(m: number, k: number, n: number, transA: boolean, transB: boolean, where: Where): void {
  const { a, b, expected, mag } = matmulCase(m, k, n, transA, transB);
  const out = f32(new Float32Array(m * n).fill(NaN), where); // must be overwritten
  kernels().matmul(f32(a, where), f32(b, where), out, m, k, n, transA, transB);
  // Float32 accumulation over k terms: |error| <= 1e-5 * sum_p |a_ip b_pj| (~ 100 ulp of the
  // magnitudes involved, whatever the cancellation).
  for (let i = 0; i < m * n; i++) {
    if (!(Math.abs(out[i] - expected[i]) <= 1e-5 * mag[i] + 1e-30)) {
      assert.fail(`out[${Math.floor(i / n)}, ${i % n}] = ${out[i]}, expected ${expected[i]} (scale ${mag[i]})`);
    }
  }
}

// Convolutions: (n, cIn, h, w, cOut, kH, kW, stride, pad, dilation)
const CONV_CASES: [number, number, number, number, number, number, number, number, number, number][] = [
  [2, 3, 7, 6, 4, 3, 3, 1, 1, 1],
  [3, 2, 9, 8, 5, 3, 2, 2, 1, 1],
  [1, 4, 10, 10, 3, 3, 3, 1, 2, 2],
  [2, 1, 28, 28, 8, 3, 3, 1, 1, 1],
];

function checkConv([n, cIn, h, w, cOut, kH, kW, stride, pad, dil]: (typeof CONV_CASES)[number], where: Where): void {
  const outH = Math.floor((h + 2 * pad - dil * (kH - 1) - 1) / stride) + 1;
  const outW = Math.floor((w + 2 * pad - dil * (kW - 1) - 1) / stride) + 1;
  const d = { n, cIn, h, w, cOut, kH, kW, strideH: stride, strideW: stride, padH: pad, padW: pad, dilationH: dil, dilationW: dil, outH, outW };
  const xs = normals(n * cIn * h * w, 91).map(Math.fround);
  const ws = normals(cOut * cIn * kH * kW, 92).map(Math.fround);
  const bs = normals(cOut, 93).map(Math.fround);
  const dys = normals(n * cOut * outH * outW, 94).map(Math.fround);
  const abs = (a: number[]) => f64(a.map(Math.abs));
  // Each output is a sum of float32 products: 1e-5 of the sum of their magnitudes, which is
  // the same convolution on absolute values.
  const within = (got: ArrayLike<number>, want: Float64Array, mag: Float64Array, label: string) => {
    for (let i = 0; i < want.length; i++) {
      if (!(Math.abs(got[i] - want[i]) <= 1e-5 * mag[i] + 1e-30)) assert.fail(`${label}[${i}]: ${got[i]} vs ${want[i]} (scale ${mag[i]})`);
    }
  };
  const y = f32(new Float32Array(n * cOut * outH * outW), where);
  kernels().conv2dForward(f32(xs, where), f32(ws, where), f32(bs, where), d, y);
  const ey = new Float64Array(y.length), my = new Float64Array(y.length);
  refKernels.conv2dForward(f64(xs), f64(ws), f64(bs), d, ey);
  refKernels.conv2dForward(abs(xs), abs(ws), abs(bs), d, my);
  within(y, ey, my, 'y');
  const dx = f32(new Float32Array(xs.length).fill(NaN), where), dw = f32(new Float32Array(ws.length), where), db = f32(new Float32Array(cOut), where);
  kernels().conv2dBackward(f32(dys, where), f32(xs, where), f32(ws, where), d, dx, dw, db);
  const [edx, edw, edb] = [new Float64Array(xs.length), new Float64Array(ws.length), new Float64Array(cOut)];
  const [mdx, mdw, mdb] = [new Float64Array(xs.length), new Float64Array(ws.length), new Float64Array(cOut)];
  refKernels.conv2dBackward(f64(dys), f64(xs), f64(ws), d, edx, edw, edb);
  refKernels.conv2dBackward(abs(dys), abs(xs), abs(ws), d, mdx, mdw, mdb);
  within(dx, edx, mdx, 'dx');
  within(dw, edw, mdw, 'dWeight');
  within(db, edb, mdb, 'dBias');
}

const ACT_INPUTS = [
  ...normals(997, 41, 0, 6),
  0, -0, 1e-8, -1e-8, 1e-3, -1e-3, 0.6249, 0.625, -0.625, 5, -5, 20, -20, 87, -87, 88, -88, 100, -100, 1e4, -1e4,
].map(Math.fround);

function checkActivations(where: Where): void {
  const x = f32(ACT_INPUTS, where);
  const dy = f32(normals(ACT_INPUTS.length, 42).map(Math.fround), where);
  const len = x.length;
  const ex = f64(x);
  const edy = f64(dy);
  // Elementwise results: 1e-6 relative, plus 1e-6 of the array's scale (~1) for outputs that
  // underflow (sigmoid(-100) ~ 4e-44 in float64).
  const tol: Tolerance = { rtol: 1e-6, atolScale: 1e-6 };
  for (const [fwd, bwd, usesY] of [
    ['sigmoid', 'sigmoidBackward', true], ['tanh', 'tanhBackward', true], ['relu', 'reluBackward', false],
  ] as const) {
    const y = f32(new Float32Array(len), where);
    kernels()[fwd](x, y);
    const ey = new Float64Array(len);
    refKernels[fwd](ex, ey);
    assertClose(y, ey, tol, fwd);
    // The gradient from the float32 y (what autograd keeps) against float64 of the same y.
    const dx = f32(new Float32Array(len), where);
    const arg = usesY ? y : x;
    kernels()[bwd](arg, dy, dx);
    const edx = new Float64Array(len);
    refKernels[bwd](f64(arg), edy, edx);
    assertClose(dx, edx, tol, bwd);
  }
  // PyTorch 1.13: relu([nan, -0., 0., -1., 2., inf, -inf]) = [nan, -0., 0., 0., 2., inf, 0.] and its
  // gradient for ones is [1, 0, 0, 0, 1, 1, 0]: NaN passes through (a divergence reaches the loss),
  // -0 stays -0, the gradient at 0 is 0. Eight values and a ninth: the SIMD loop and its tail.
  const special = [NaN, -0, 0, -1, 2, Infinity, -Infinity, NaN, NaN];
  const z = f32(special, where);
  const r = f32(new Float32Array(special.length), where);
  kernels().relu(z, r);
  assert.deepEqual(Array.from(r), [NaN, -0, 0, 0, 2, Infinity, 0, NaN, NaN]);
  kernels().reluBackward(z, f32(special.map(() => 1), where), r);
  assert.deepEqual(Array.from(r), [1, 0, 0, 0, 1, 1, 0, 1, 1]);
  // Non-finite inputs: NaN stays NaN, +-Infinity saturate (sigmoid(-Infinity) within 2e-38 of
  // 0, as for every x < -87).
  const nf = f32([NaN, Infinity, -Infinity, NaN, 0.5], where);
  const o = f32(new Float32Array(5), where);
  kernels().sigmoid(nf, o);
  assert.ok(Number.isNaN(o[0]) && o[1] === 1 && o[2] >= 0 && o[2] < 2e-38 && Number.isNaN(o[3]), `sigmoid: ${Array.from(o)}`);
  kernels().tanh(nf, o);
  assert.ok(Number.isNaN(o[0]) && o[1] === 1 && o[2] === -1 && Number.isNaN(o[3]), `tanh: ${Array.from(o)}`);
}

// Linear's bias, fused into the product: out = a @ b^T + bias, against the float64 reference.
function checkMatmulBias(m: number, k: number, n: number, where: Where): void {
  const { a, b, expected, mag } = matmulCase(m, k, n, false, true);
  const bias = normals(n, 7 * n + 1, 0, 3).map(Math.fround);
  const out = f32(new Float32Array(m * n).fill(NaN), where);
  kernels().matmul(f32(a, where), f32(b, where), out, m, k, n, false, true, f32(bias, where));
  for (let i = 0; i < m * n; i++) {
    const want = expected[i] + bias[i % n];
    if (!(Math.abs(out[i] - want) <= 1e-5 * (mag[i] + Math.abs(bias[i % n])) + 1e-30)) {
      assert.fail(`out[${Math.floor(i / n)}, ${i % n}] = ${out[i]}, expected ${want}`);
    }
  }
}

function checkColumnSums(rows: number, cols: number, where: Where): void {
  const x = normals(rows * cols, rows + 31 * cols, 0.5, 2).map(Math.fround);
  const out = f32(new Float32Array(cols).fill(NaN), where);
  kernels().columnSums(f32(x, where), rows, cols, out);
  const want = new Float64Array(cols), mag = new Float64Array(cols);
  refKernels.columnSums(f64(x), rows, cols, want);
  refKernels.columnSums(f64(x.map(Math.abs)), rows, cols, mag);
  // Summed in float64, rounded once: within one float32 ulp of the float64 sum.
  for (let j = 0; j < cols; j++) {
    if (!(Math.abs(out[j] - want[j]) <= 1.2e-7 * Math.abs(want[j]) + 1e-12 * mag[j])) assert.fail(`sum[${j}] = ${out[j]}, expected ${want[j]}`);
  }
}

// Max pooling moves values, no arithmetic (but the backward's sums of overlapping windows, in
// the same order): every backend must give exactly the reference's values and indices. Inputs
// on a few levels (ties), with NaNs and -Infinity.
const POOL_CASES: [number[], number, number, number, number][] = [
  // [n, c, h, w], kernel, stride, padding, dilation
  [[2, 3, 9, 11], 2, 2, 0, 1], // 2x2 stride 2 (the SIMD path) with an odd width and height
  [[1, 2, 16, 16], 2, 2, 0, 1],
  [[2, 2, 7, 6], 3, 1, 1, 1], // overlapping windows
  [[1, 3, 10, 9], 2, 1, 0, 2], // dilation
  [[1, 1, 5, 5], 3, 2, 1, 1],
];

function checkMaxPool([[n, c, h, w], k, stride, pad, dil]: (typeof POOL_CASES)[number], where: Where): void {
  const outH = Math.floor((h + 2 * pad - dil * (k - 1) - 1) / stride) + 1;
  const outW = Math.floor((w + 2 * pad - dil * (k - 1) - 1) / stride) + 1;
  const d = { n, c, h, w, kH: k, kW: k, strideH: stride, strideW: stride, padH: pad, padW: pad, dilationH: dil, dilationW: dil, outH, outW };
  const rng = new RNG(n * 1000 + h * 10 + k);
  const xs = Array.from({ length: n * c * h * w }, () => {
    const u = rng.uniform();
    return u < 0.03 ? NaN : u < 0.05 ? -Infinity : Math.floor(u * 5) - 2;
  });
  const size = n * c * outH * outW;
  const y = f32(new Float32Array(size).fill(7), where), idx = new Int32Array(size).fill(-1);
  kernels().maxPool2dForward(f32(xs, where), d, y, idx);
  const ey = new Float32Array(size), eidx = new Int32Array(size);
  refKernels.maxPool2dForward(Float32Array.from(xs), d, ey, eidx);
  assert.deepEqual(Array.from(y), Array.from(ey), 'values');
  assert.deepEqual(Array.from(idx), Array.from(eidx), 'indices');
  const dy = normals(size, 77).map(Math.fround);
  const dx = f32(new Float32Array(xs.length).fill(NaN), where), edx = new Float32Array(xs.length);
  kernels().maxPool2dBackward(f32(dy, where), idx, d, dx);
  refKernels.maxPool2dBackward(Float32Array.from(dy), eidx, d, edx);
  assert.deepEqual(Array.from(dx), Array.from(edx), 'dx');
}

// The optimizers' updates: float32 arithmetic (wasm, as PyTorch) against float64 (ref) on the
// same float32 inputs. The change of each weight (not only the new weight) must agree to
// 1e-5, so a wrong term in the formula cannot hide under the weight's own size.
const SGD_CASES = [
  { lr: 0.1, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false },
  { lr: 0.05, momentum: 0, dampening: 0, weightDecay: 0.01, nesterov: false },
  { lr: 0.05, momentum: 0.9, dampening: 0, weightDecay: 0, nesterov: false },
  { lr: 0.05, momentum: 0.9, dampening: 0.3, weightDecay: 1e-3, nesterov: false },
  { lr: 0.05, momentum: 0.8, dampening: 0, weightDecay: 1e-2, nesterov: true },
];

function checkOptimizerSteps(where: Where): void {
  const len = 1003; // not a multiple of 4: the SIMD loops' tails run too
  const w0 = normals(len, 121).map(Math.fround);
  const grads = [normals(len, 122).map(Math.fround), normals(len, 123, 0.1, 2).map(Math.fround)];
  // |change - expected change| <= 2e-6 |expected change| + one float32 ulp of the new weight
  // (the weight is stored in float32).
  const deltaClose = (w: ArrayLike<number>, ew: ArrayLike<number>, before: ArrayLike<number>, label: string) => {
    for (let i = 0; i < w.length; i++) {
      const d = w[i] - before[i], ed = ew[i] - before[i];
      if (!(Math.abs(d - ed) <= 2e-6 * Math.abs(ed) + 2 ** -23 * Math.abs(ew[i]))) assert.fail(`${label}[${i}]: change ${d}, expected ${ed}`);
    }
  };
  for (const h of SGD_CASES) {
    const w = f32(w0, where), ew = f64(w0);
    const buf = h.momentum ? f32(new Float32Array(len), where) : null;
    const ebuf = h.momentum ? new Float64Array(len) : null;
    for (let t = 0; t < grads.length; t++) {
      const before = Float64Array.from(w);
      kernels().sgdStep(w, f32(grads[t], where), buf, { ...h, first: t === 0 });
      refKernels.sgdStep(ew, f64(grads[t]), ebuf, { ...h, first: t === 0 });
      deltaClose(w, ew, before, `sgd ${JSON.stringify(h)} step ${t} w`);
      if (buf) assertClose(buf, ebuf!, FLOAT32, `sgd ${JSON.stringify(h)} step ${t} buf`);
      ew.set(w); // continue both from the same float32 weights
      if (buf) ebuf!.set(buf);
    }
  }
  for (const weightDecay of [0, 0.01]) {
    const w = f32(w0, where), ew = f64(w0);
    const m = f32(new Float32Array(len), where), v = f32(new Float32Array(len), where);
    const em = new Float64Array(len), ev = new Float64Array(len);
    for (let t = 1; t <= grads.length; t++) {
      const h = { stepSize: 1e-2 / (1 - 0.9 ** t), bc2Sqrt: Math.sqrt(1 - 0.999 ** t), beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay };
      const before = Float64Array.from(w);
      kernels().adamStep(w, f32(grads[t - 1], where), m, v, h);
      refKernels.adamStep(ew, f64(grads[t - 1]), em, ev, h);
      deltaClose(w, ew, before, `adam wd ${weightDecay} step ${t} w`);
      assertClose(m, em, FLOAT32, `adam step ${t} m`);
      assertClose(v, ev, FLOAT32, `adam step ${t} v`);
      ew.set(w);
      em.set(m);
      ev.set(v);
    }
  }
}

// ------------------------------------------------------------------------------------------
// ------------------------------------------------------------------------------------------

for (const backend of BACKENDS) {
  describe(`backend ${backend.name}, ${backend.threads} thread(s)`, () => {
    let saved: { name: string; threads: number };
    before(() => {
      saved = { name: getBackend(), threads: getNumThreads() };
      setBackend(backend.name);
      setNumThreads(backend.threads);
      assert.equal(getNumThreads(), backend.name === 'ref' ? 1 : backend.threads);
    });
    after(() => {
      setBackend(saved.name);
      setNumThreads(saved.threads);
      for (const a of inWasm.splice(0)) wasmRuntime?.release(a);
    });

    const places: Where[] = ['wasm', 'plain'];
    for (const k of BN_CASES) {
      test(`batchNormTrainForward: ${k.name}`, () => {
        for (const where of places) for (const affine of [true, false]) checkTrainForward(k, affine, where);
      });
      test(`batchNormInferForward: ${k.name}`, () => {
        for (const where of places) for (const f32Stats of [true, false]) checkInferForward(k, f32Stats, where);
      });
      test(`batchNormBackward: ${k.name}`, () => {
        for (const where of places) {
          for (const training of [true, false]) for (const affine of [true, false]) checkBackward(k, training, affine, where);
        }
        checkBackward(k, true, true, 'wasm', { dx: false, dw: true, db: false });
        checkBackward(k, true, true, 'wasm', { dx: true, dw: false, db: false });
        // Inference, dx only (a frozen BatchNorm): a one-pass path of its own.
        for (const affine of [true, false]) checkBackward(k, false, affine, 'wasm', { dx: true, dw: false, db: false });
        checkBackward(k, false, true, 'plain', { dx: true, dw: false, db: false });
      });
    }

    for (const k of BN_CASES.filter((q) => q.s > 1)) {
      test(`channels-last kernels: ${k.name}`, () => {
        for (const affine of [true, false]) checkTrainForward(k, affine, 'wasm', 'NHWC');
        checkTrainForward(k, true, 'plain', 'NHWC');
        checkInferForward(k, true, 'wasm', 'NHWC');
        checkInferForward(k, false, 'plain', 'NHWC');
        for (const training of [true, false]) checkBackward(k, training, true, 'wasm', undefined, 'NHWC');
        checkBackward(k, false, true, 'wasm', { dx: true, dw: false, db: false }, 'NHWC');
        checkBackward(k, true, false, 'plain', undefined, 'NHWC');
      });
    }

    test('batchNorm: a large channel split over threads (32x64x56, 64x300 rows)', () => {
      checkTrainForward({ name: 'big', n: 32, c: 64, s: 56, x: () => undefined }, true, 'wasm');
      checkBackward({ name: 'big', n: 32, c: 64, s: 56, x: () => undefined }, true, true, 'wasm');
      checkInferForward({ name: 'big', n: 32, c: 64, s: 56, x: () => undefined }, true, 'wasm');
      checkTrainForward({ name: 'rows', n: 300, c: 212, s: 1, x: () => undefined }, true, 'wasm');
      checkBackward({ name: 'rows', n: 300, c: 212, s: 1, x: () => undefined }, true, true, 'wasm');
      checkInferForward({ name: 'rows', n: 300, c: 212, s: 1, x: () => undefined }, true, 'wasm');
    });

    for (const [m, k, n] of MATMUL_SHAPES) {
      test(`matmul ${m}x${k} @ ${k}x${n}, all four transpose cases`, () => {
        for (const where of places) {
          for (const ta of [false, true]) for (const tb of [false, true]) checkMatmul(m, k, n, ta, tb, where);
        }
      });
    }

    test('maxPool2d forward and backward: exactly the reference (ties, NaN, -Infinity, padding, dilation)', () => {
      for (const where of places) for (const k of POOL_CASES) checkMaxPool(k, where);
    });

    test('maxPool2d: a window that lies wholly in the padding gives -Infinity and passes its gradient to no input', () => {
      // x (2, 1, 3, 1), kernel (1, 2), stride (2, 3), padding (0, 1), dilation (2, 2): the one
      // output column's window covers input columns -1 and 1, and the input has only column 0.
      // PyTorch's forward gives -inf there (pytorch/pytorch#114216; its backward writes out of bounds).
      const d = { n: 2, c: 1, h: 3, w: 1, kH: 1, kW: 2, strideH: 2, strideW: 3, padH: 0, padW: 1, dilationH: 2, dilationW: 2, outH: 2, outW: 1 };
      for (const where of places) {
        const y = f32(new Float32Array(4), where), idx = new Int32Array(4);
        kernels().maxPool2dForward(f32([1, 2, 3, 4, 5, 6], where), d, y, idx);
        assert.deepEqual(Array.from(y), [-Infinity, -Infinity, -Infinity, -Infinity]);
        const dx = f32(new Float32Array(6).fill(7), where);
        kernels().maxPool2dBackward(f32([10, 20, 30, 40], where), idx, d, dx);
        assert.deepEqual(Array.from(dx), [0, 0, 0, 0, 0, 0]);
      }
    });

    test('linear with in_features 0: every row is the bias (PyTorch), and the kernels are left intact', () => {
      const w = zeros([3, 0], { requiresGrad: true }), bias = tensor([1, 2, 3], { requiresGrad: true });
      const x = zeros([4, 0], { requiresGrad: true });
      const y = linear(x, w, bias);
      assert.deepEqual(y.shape, [4, 3]);
      assert.deepEqual(Array.from(y.data), [1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3]);
      y.sum().backward();
      assert.deepEqual(x.grad!.shape, [4, 0]);
      assert.deepEqual(Array.from(bias.grad!.data), [4, 4, 4]);
      assert.deepEqual(linear(zeros([2, 5, 0]), zeros([3, 0])).shape, [2, 5, 3]);
      // A product right after computes what the reference computes.
      const a = tensor(normals(6 * 5, 91), [6, 5]), b = tensor(normals(4 * 5, 92), [4, 5]);
      const expected = new Float64Array(24);
      refKernels.matmul(f64(a.data), f64(b.data), expected, 6, 5, 4, false, true);
      assertClose(linear(a, b).data, expected, FLOAT32, 'linear after');
    });

    test('matmul with a bias (Linear), bias columns not a multiple of 8', () => {
      for (const where of places) for (const [m, k, n] of [[60, 784, 100], [13, 17, 9], [60, 100, 10], [5, 3, 1]]) checkMatmulBias(m, k, n, where);
    });

    test('columnSums (a bias gradient)', () => {
      for (const where of places) for (const [r, c] of [[60, 100], [7, 13], [1, 3], [1000, 10]]) checkColumnSums(r, c, where);
    });

    test('sgdStep and adamStep: every option, two steps', () => {
      for (const where of places) checkOptimizerSteps(where);
    });

    test('conv2d forward and backward: stride, padding, dilation, non-square kernels', () => {
      for (const k of CONV_CASES) {
        checkConv(k, 'wasm');
        checkConv(k, 'plain');
      }
    });

    test('activations and their gradients, including extremes, 0 and -0', () => {
      checkActivations('wasm');
      checkActivations('plain');
    });

    test('float64 data gives exactly the reference results', () => {
      const xs = f64(normals(2 * 3 * 5, 51));
      const y = new Float64Array(30), ey = new Float64Array(30);
      const st = () => [new Float64Array(3), new Float64Array(3), new Float64Array(3)] as const;
      const s1 = st(), s2 = st();
      kernels().batchNormTrainForward(xs, { n: 2, c: 3, s: 5 }, null, null, 1e-5, y, ...s1);
      refKernels.batchNormTrainForward(xs, { n: 2, c: 3, s: 5 }, null, null, 1e-5, ey, ...s2);
      assert.deepEqual(y, ey);
      const o = new Float64Array(25), eo = new Float64Array(25);
      kernels().matmul(xs, xs, o, 5, 6, 5, true, false);
      refKernels.matmul(xs, xs, eo, 5, 6, 5, true, false);
      assert.deepEqual(o, eo);
    });

    test('bit-identical from run to run', () => {
      const k = { n: 16, c: 32, s: 196 };
      const xs = f32(normals(k.n * k.c * k.s, 61), 'wasm');
      const runOnce = () => {
        const y = f32(new Float32Array(xs.length), 'wasm');
        const stats = [new Float64Array(k.c), new Float64Array(k.c), new Float64Array(k.c)] as const;
        kernels().batchNormTrainForward(xs, k, null, null, 1e-5, y, ...stats);
        const dx = f32(new Float32Array(xs.length), 'wasm');
        kernels().batchNormBackward(y, xs, k, stats[0], stats[1], null, true, dx, null, null);
        const o = f32(new Float32Array(64 * 128), 'wasm');
        kernels().matmul(xs.subarray(0, 64 * 300), xs.subarray(1000, 1000 + 300 * 128), o, 64, 300, 128, false, false);
        return [Array.from(y), Array.from(dx), Array.from(o), Array.from(stats[2])];
      };
      assert.deepEqual(runOnce(), runOnce());
    });

    for (const c of fixture.cases) {
      test(`PyTorch fixture ${c.name} (${c.dtype})`, () => replay(c, c.dtype, c.dtype === 'float32' ? FLOAT32 : FLOAT64));
      if (c.dtype === 'float64' && c.inputsExactInFloat32) {
        test(`PyTorch fixture ${c.name} through float32`, () => replay(c, 'float32', FLOAT32));
      }
    }
  });
}

describe('batchNorm op with channelsLast', () => {
  for (const dtype of ['float32', 'float64'] as const) {
    test(`(N, H, W, C) gives the (N, C, H, W) results transposed, gradients included (${dtype})`, () => {
      const [n, c, s] = [3, 5, 12];
      const xs = normals(n * c * s, 81, 1, 2);
      const dys = normals(n * c * s, 82);
      const run = (layout: Layout, training: boolean) => {
        const shape = layout === 'NCHW' ? [n, c, 3, 4] : [n, 3, 4, c];
        const conv = (a: number[]) => (layout === 'NCHW' ? a : toNHWC(a, n, c, s));
        const x = tensor(conv(xs), shape, { dtype, requiresGrad: true });
        const weight = tensor(normals(c, 83, 1, 0.3), [c], { dtype, requiresGrad: true });
        const bias = tensor(normals(c, 84), [c], { dtype, requiresGrad: true });
        const runningMean = tensor(normals(c, 85), [c], { dtype });
        const runningVar = tensor(normals(c, 86).map((v) => 1 + v * v), [c], { dtype });
        const y = batchNorm(x, { weight, bias, runningMean, runningVar, training, channelsLast: layout === 'NHWC' });
        y.backward(tensor(conv(dys), shape, { dtype }));
        const back = (a: ArrayLike<number>) => (layout === 'NCHW' ? Array.from(a) : fromNHWC(a, n, c, s));
        return { y: back(y.data), dx: back(x.grad!.data), dw: Array.from(weight.grad!.data), db: Array.from(bias.grad!.data), rm: Array.from(runningMean.data), rv: Array.from(runningVar.data) };
      };
      const tol = dtype === 'float32' ? FLOAT32 : FLOAT64;
      for (const training of [true, false]) {
        const a = run('NCHW', training), b = run('NHWC', training);
        for (const key of ['y', 'dx', 'dw', 'db', 'rm', 'rv'] as const) assertClose(b[key], a[key], tol, `${key} (training ${training})`);
      }
    });
  }
});

describe('wasm runtime', () => {
  test('results do not depend on the thread count', () => {
    const saved = { name: getBackend(), threads: getNumThreads() };
    setBackend('wasm');
    const outs: number[][] = [];
    for (const t of [1, 2, 3]) {
      setNumThreads(t);
      const x = f32(normals(8 * 40 * 300, 71), 'wasm');
      const y = f32(new Float32Array(x.length), 'wasm');
      kernels().batchNormTrainForward(x, { n: 8, c: 40, s: 300 }, null, null, 1e-5, y, new Float64Array(40), new Float64Array(40), new Float64Array(40));
      const o = f32(new Float32Array(100 * 90), 'wasm');
      kernels().matmul(x.subarray(0, 100 * 250), x.subarray(5, 5 + 250 * 90), o, 100, 250, 90, false, true);
      // Rows of channels (channels last; (N, C)), whose sums are split over rows: blocked
      // (20000 rows) and exact float64 (300 rows) statistics, forward and backward.
      const rows: number[][] = [];
      for (const [d, fwd, bwd] of [
        [{ n: 4, c: 8, s: 5000 }, 'batchNormTrainForwardNHWC', 'batchNormBackwardNHWC'],
        [{ n: 300, c: 212, s: 1 }, 'batchNormTrainForward', 'batchNormBackward'],
      ] as const) {
        const size = d.n * d.c * d.s;
        const xr = f32(normals(size, 72, 3, 2), 'wasm'), yr = f32(new Float32Array(size), 'wasm'), dxr = f32(new Float32Array(size), 'wasm');
        const st = [new Float64Array(d.c), new Float64Array(d.c), new Float64Array(d.c)] as const;
        const dw = new Float32Array(d.c), db = new Float32Array(d.c);
        kernels()[fwd](xr, d, null, null, 1e-5, yr, ...st);
        kernels()[bwd](yr, xr, d, st[0], st[1], null, true, dxr, dw, db);
        for (const a of [yr, dxr, st[0], st[2], dw, db]) rows.push(Array.from(a));
      }
      outs.push([...y, ...o].concat(...rows));
    }
    setBackend(saved.name);
    setNumThreads(saved.threads);
    assert.deepEqual(outs[1], outs[0]);
    assert.deepEqual(outs[2], outs[0]);
  });

  test('a block that would pass the 4 GiB address space is out of memory (0), not a pointer that wraps onto other tensors', () => {
    const rt = wasmRuntime!;
    const before = rt.stats();
    // What is left of the address space, and a little more: nothing is grown, top stays.
    assert.equal(rt.alloc(2 ** 32 - before.top + 64), 0);
    assert.equal(rt.alloc(2 ** 33), 0);
    assert.deepEqual([rt.stats().top, rt.stats().memoryBytes], [before.top, before.memoryBytes]);
    const p = rt.alloc(4000);
    assert.ok(p > 0 && p + 4000 <= rt.stats().memoryBytes, 'ordinary blocks still come');
    rt.free(p);
  });

  test('varying sizes above 64 KiB reuse free blocks up to twice as large instead of growing memory for every size (a service with varying batch sizes)', () => {
    const rt = wasmRuntime!;
    const rng = new RNG(1);
    const { top, tensorBytes } = rt.stats();
    let largest = 0;
    for (let i = 0; i < 2000; i++) {
      const n = 20000 + Math.floor(rng.uniform() * 180000);
      const m = 20000 + Math.floor(rng.uniform() * 180000);
      largest = Math.max(largest, 4 * n, 4 * m);
      const a = rt.allocate(true, n);
      const b = rt.allocate(true, m);
      assert.ok(rt.owns(a) && rt.owns(b), `blocks of ${n} and ${m} floats in wasm memory (${JSON.stringify(rt.stats())})`);
      rt.release(a);
      rt.release(b);
    }
    // Exact size classes only: 16.3 MB here; with the larger ones reused: 5.8 MB (bound: 7.6).
    assert.ok(rt.stats().top - top < 10 * largest, `memory grew ${rt.stats().top - top} bytes for blocks of at most ${largest}`);
    assert.equal(rt.stats().tensorBytes, tensorBytes, 'the budget counts what is live, by the blocks given out');
  });

  test('tensor storage lives in wasm memory; reused blocks come back zeroed', () => {
    const rt = wasmRuntime!;
    const saved = getBackend();
    setBackend('wasm');
    const t = allocate('float32', 1000);
    assert.ok(rt.owns(t), 'storage in wasm memory');
    const p = rt.alloc(4000);
    rt.f32(p, 1000).fill(7);
    rt.free(p);
    const again = allocate('float32', 1000);
    assert.equal(again.byteOffset, p, 'the freed block is reused');
    assert.ok(again.every((v) => v === 0), 'zeroed');
    setBackend('ref');
    assert.ok(!rt.owns(allocate('float32', 1000)), 'ref: ordinary arrays');
    setBackend(saved);
  });

  test('release: a block comes back at once, zeroed on reuse; subarrays, double releases and foreign arrays are ignored', () => {
    const rt = wasmRuntime!;
    const saved = getBackend();
    setBackend('wasm');
    const a = allocate('float32', 1000);
    a.fill(3);
    const before = rt.stats().tensorBytes;
    rt.release(a.subarray(10)); // not a whole block
    rt.release(new Float32Array(1000)); // not ours
    assert.equal(rt.stats().tensorBytes, before);
    rt.release(a);
    assert.equal(rt.stats().tensorBytes, before - 4032, 'the 4000-byte block (4032 with alignment) is back');
    rt.release(a); // twice: no effect
    assert.equal(rt.stats().tensorBytes, before - 4032);
    const b = allocate('float32', 1000);
    assert.equal(b.byteOffset, a.byteOffset, 'reused at once');
    assert.ok(b.every((v) => v === 0), 'zeroed');
    setBackend(saved);
  });

  test('backward releases every intermediate gradient: what it keeps is exactly the leaves\' gradients', () => {
    const saved = getBackend();
    setBackend('wasm');
    const rng = new RNG(5);
    const leaf = (shape: number[]) => tensor(Array.from({ length: shape.reduce((p, q) => p * q) }, () => rng.normal()), shape, { requiresGrad: true });
    const x = leaf([8, 32]), w1 = leaf([16, 32]), b1 = leaf([16]), w2 = leaf([16, 16]), b2 = leaf([16]);
    const y = x.matmul(w1.transpose(0, 1)).add(b1).sigmoid().matmul(w2.transpose(0, 1)).add(b2).tanh().sum();
    const before = wasmRuntime!.stats().tensorBytes;
    y.backward();
    const kept = wasmRuntime!.stats().tensorBytes - before;
    const leaves = [x, w1, b1, w2, b2];
    assert.ok(leaves.every((t) => t.grad && wasmRuntime!.owns(t.grad.data)), "leaves.every((t) => t.grad && wasmRuntime!.owns(t.grad.data))");
    // Each gradient's block: its bytes, or a free block up to twice as large that served it.
    assert.equal(kept, leaves.reduce((s, t) => s + wasmRuntime!.blockBytes(t.grad!.data), 0));
    assert.ok(leaves.every((t) => wasmRuntime!.blockBytes(t.grad!.data) >= 4 * t.size && wasmRuntime!.blockBytes(t.grad!.data) <= 8 * t.size), "leaves.every((t) => wasmRuntime!.blockBytes(t.grad!.data) >= 4 * t.size && wasmRuntime!.blockBytes(t.grad!.data) <= 8 * t.size)");
    // And the gradients are right: the same graph in float64 on the reference kernels.
    setBackend('ref');
    const d = (t: Tensor) => tensor(Array.from(t.data), [...t.shape], { dtype: 'float64', requiresGrad: true });
    const [x6, w16, b16, w26, b26] = leaves.map(d);
    x6.matmul(w16.transpose(0, 1)).add(b16).sigmoid().matmul(w26.transpose(0, 1)).add(b26).tanh().sum().backward();
    leaves.forEach((t, i) => assertClose(t.grad!.data, [x6, w16, b16, w26, b26][i].grad!.data, FLOAT32, `grad ${i}`));
    setBackend(saved);
  });

  test('without SharedArrayBuffer (a page that is not cross-origin isolated): private memory, copies, same results', () => {
    process.env.BATCHNORM_WASM_SHARED = '0';
    const rt = new WasmRuntime(null);
    delete process.env.BATCHNORM_WASM_SHARED;
    assert.equal(rt.shared, false);
    rt.setNumThreads(4);
    assert.equal(rt.numThreads(), 1, 'no threads without shared memory');
    const backend = createWasmBackend(rt, 'wasm-private');
    const storage = backend.allocate!(true, 100);
    assert.ok(!rt.owns(storage), 'tensors stay ordinary arrays');
    const k = { ...refKernels, ...backend.kernels };
    const dims = { n: 6, c: 5, s: 40 };
    const xs = normals(6 * 5 * 40, 101, 3, 2).map(Math.fround);
    const y = new Float32Array(xs.length), ey = new Float64Array(xs.length);
    const st = () => [new Float64Array(5), new Float64Array(5), new Float64Array(5)] as const;
    const s1 = st(), s2 = st();
    k.batchNormTrainForward(Float32Array.from(xs), dims, null, null, 1e-5, y, ...s1);
    refKernels.batchNormTrainForward(f64(xs), dims, null, null, 1e-5, ey, ...s2);
    assertClose(y, ey, FLOAT32, 'y');
    const { a, b, expected } = matmulCase(60, 784, 100, false, true);
    const out = new Float32Array(6000);
    k.matmul(Float32Array.from(a), Float32Array.from(b), out, 60, 784, 100, false, true);
    assertClose(out, expected, { rtol: 0, atolScale: 1e-5 }, 'matmul');
  });

  test('setNumThreads rejects nonsense', () => {
    assert.throws(() => setNumThreads(0), /expected a positive integer \(got 0\)/);
    assert.throws(() => setNumThreads(1.5), /expected a positive integer/);
  });
});

// Arrays as FloatArray for the kernel signatures (Float32Array | Float64Array).
export type { FloatArray };
