/**
 * BatchNorm kernels against the peers a user would pick instead, in one run:
 *
 *   npm run bench                      # everything (several minutes: TF.js cpu is slow)
 *   npm run bench -- --quick           # fewer repetitions, skips TF.js cpu on the large shapes
 *   npm run bench -- --json out.json   # also write the raw medians
 *   npx tsx bench/kernels.ts --ours    # only our kernels and the floor
 *
 * Shapes (N, C, H, W) [64,256], [32,64,56,56], [256,128,28,28], float32; modes: training forward
 * (statistics + normalise), inference forward (running statistics), backward (dx, dweight,
 * dbias). Ours: the `wasm` backend on 1 and 2 threads and `ref` (plain TypeScript loops), called
 * at the kernel level on tensors in wasm memory (what the ops do); the wasm channels-last (NHWC)
 * kernels too, on the 4-D shapes. Peers: PyTorch on the CPU
 * (bench/torch_bn.py with /usr/bin/python3, torch.set_num_threads 1 and 2), TF.js cpu and
 * TF.js wasm (SIMD; NHWC, the layout they are built for), ONNX Runtime node (inference: a
 * BatchNormalization model from our ONNX exporter; 1 and 2 intra-op threads). Floor: the memory
 * traffic the kernel cannot avoid, timed with wasm SIMD loops on the same threads (read x +
 * write y for the forwards, read x and dy + write dx for the backward). Read: the same loops
 * reading only (sums of x, and of dy for the backward); read + floor is what a kernel in two
 * passes moves (statistics, then the pass that writes), the "2-pass" columns.
 * Medians after warm-up; each cell stops after ~3 s (at least 5 runs; a single run when the
 * warm-up alone takes over 2 s). Ours and the floor are timed round-robin, each timed call right
 * after an untimed one (back to back, as the peers are timed). The machine is shared: compare
 * ratios within one run.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';

process.env.BATCHNORM_WASM_MEMORY_MB ??= '3072'; // room for the largest shape's four tensors

const { kernels, setBackend, setNumThreads } = await import('../src/kernels/index.js');
const { wasmRuntime } = await import('../src/kernels/wasm/index.js');
const { allocate } = await import('../src/tensor/tensor.js');
const { BatchNorm1d, BatchNorm2d, RNG, Sequential, exportOnnx } = await import('../src/index.js');

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const jsonOut = args.includes('--json') ? args[args.indexOf('--json') + 1] : null;
const REPS = quick ? 10 : 30;
const BUDGET_MS = quick ? 1500 : 3000;

const SHAPES = [[64, 256], [32, 64, 56, 56], [256, 128, 28, 28]];
const MODES = ['train', 'infer', 'backward'] as const;
type Mode = (typeof MODES)[number];

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

/**
 * Median ms of fn (sync or async) after warm-up (at least 3 calls and 300 ms: lets the JIT and
 * the wasm tier-up finish). Calls under 0.2 ms are timed in batches of 20.
 */
async function measure(fn: () => unknown): Promise<Stat> {
  let t0 = performance.now();
  await fn();
  const first = performance.now() - t0;
  if (first > 2000) return [first, first];
  let calls = 1;
  while (calls < 3 || (performance.now() - t0 < 300 && first < 300)) {
    await fn();
    calls++;
  }
  const warm = (performance.now() - t0) / calls;
  const batch = warm < 0.2 ? 20 : 1;
  const times: number[] = [];
  const start = performance.now();
  while (times.length < REPS && (times.length < 5 || performance.now() - start < BUDGET_MS)) {
    t0 = performance.now();
    for (let i = 0; i < batch; i++) await fn();
    times.push((performance.now() - t0) / batch);
  }
  return [median(times), Math.min(...times)];
}

/** [median, min] in ms. */
type Stat = [number, number];
const results: Record<string, Record<string, Stat>> = {};
const put = (shape: number[], mode: Mode, col: string, ms: Stat) => {
  const key = `${shape.join('x')} ${mode}`;
  (results[key] ??= {})[col] = ms;
  process.stderr.write(`  ${key.padEnd(26)} ${col.padEnd(14)} median ${ms[0].toFixed(3)} ms, min ${ms[1].toFixed(3)} ms\n`);
};

const rng = new RNG(0);
function randomF32(size: number, mean = 0, std = 1): Float32Array {
  const a = allocate('float32', size) as Float32Array;
  for (let i = 0; i < size; i++) a[i] = mean + std * rng.normal();
  return a;
}

// ------------------------------------------------------------------------------------------
// Ours and the floor

async function benchOurs(shape: number[]): Promise<void> {
  const [n, c] = shape;
  const size = shape.reduce((a, b) => a * b, 1);
  const dims = { n, c, s: size / (n * c) };
  const x = randomF32(size, 0.5, 2);
  const dy = randomF32(size);
  const y = allocate('float32', size) as Float32Array;
  const dx = allocate('float32', size) as Float32Array;
  const w = randomF32(c, 1, 0.2), b = randomF32(c), dw = allocate('float32', c), db = allocate('float32', c);
  const mean = new Float64Array(c), invStd = new Float64Array(c), variance = new Float64Array(c);
  const runningMean = new Float32Array(c), runningVar = new Float32Array(c).fill(1);
  const rt = wasmRuntime!;
  // Floor: the same bytes moved by the simplest SIMD loops, split over threads as the kernels
  // split (one thread below their threshold).
  const floorParts = (threads: number, make: (i0: number, i1: number) => number[]) => {
    const t = size >= 1 << 15 ? threads : 1;
    const out: number[][] = [];
    const step = Math.ceil(size / t / 16) * 16;
    for (let i0 = 0; i0 < size; i0 += step) out.push(make(i0, Math.min(size, i0 + step)));
    return out;
  };
  // Ours and the floor are timed round-robin (one call of each per round), so a load change on
  // this shared machine hits all of them alike and their ratios stay meaningful.
  const entries: { mode: Mode; col: string; fn: () => void }[] = [];
  for (const [backend, threads] of [['wasm', 1], ['wasm', 2], ['ref', 1]] as const) {
    if (backend === 'ref' && size > 4e6 && quick) continue;
    const col = backend === 'ref' ? 'ours ref' : `ours wasm ${threads}T`;
    const use = () => {
      setBackend(backend);
      setNumThreads(threads);
      return kernels();
    };
    entries.push({ mode: 'train', col, fn: () => use().batchNormTrainForward(x, dims, w, b, 1e-5, y, mean, invStd, variance) });
    entries.push({ mode: 'infer', col, fn: () => use().batchNormInferForward(x, dims, runningMean, runningVar, w, b, 1e-5, y) });
    entries.push({ mode: 'backward', col, fn: () => use().batchNormBackward(dy, x, dims, mean, invStd, w, true, dx, dw, db) });
    // Channels last (N, H, W, C): the same buffers read as NHWC, the layout TF.js works in.
    if (backend === 'wasm' && shape.length === 4) {
      const colLast = `ours NHWC ${threads}T`;
      entries.push({ mode: 'train', col: colLast, fn: () => use().batchNormTrainForwardNHWC(x, dims, w, b, 1e-5, y, mean, invStd, variance) });
      entries.push({ mode: 'infer', col: colLast, fn: () => use().batchNormInferForwardNHWC(x, dims, runningMean, runningVar, w, b, 1e-5, y) });
      entries.push({ mode: 'backward', col: colLast, fn: () => use().batchNormBackwardNHWC(dy, x, dims, mean, invStd, w, true, dx, dw, db) });
    }
  }
  for (const threads of [1, 2]) {
    const copy = floorParts(threads, (i0, i1) => [x.byteOffset + 4 * i0, y.byteOffset + 4 * i0, i1 - i0]);
    const add = floorParts(threads, (i0, i1) => [x.byteOffset + 4 * i0, dy.byteOffset + 4 * i0, dx.byteOffset + 4 * i0, i1 - i0]);
    const readX = floorParts(threads, (i0, i1) => [x.byteOffset + 4 * i0, i1 - i0]);
    const readDy = floorParts(threads, (i0, i1) => [dy.byteOffset + 4 * i0, i1 - i0]);
    // The runtime splits over its current thread count: set it on every call (the entry before
    // this one in the round may have left it at 1).
    const on = (run: () => void) => () => {
      setNumThreads(threads);
      run();
    };
    entries.push({ mode: 'train', col: `floor ${threads}T`, fn: on(() => rt.run('copyF32', copy)) });
    entries.push({ mode: 'backward', col: `floor ${threads}T`, fn: on(() => rt.run('addF32', add)) });
    entries.push({ mode: 'train', col: `read ${threads}T`, fn: on(() => rt.run('sumF32', readX)) });
    entries.push({ mode: 'backward', col: `read ${threads}T`, fn: on(() => { rt.run('sumF32', readX); rt.run('sumF32', readDy); }) });
  }
  const times = await measureRoundRobin(entries.map((e) => e.fn));
  entries.forEach((e, i) => {
    put(shape, e.mode, e.col, times[i]);
    if (e.col.startsWith('floor') && e.mode === 'train') put(shape, 'infer', e.col, times[i]);
  });
  // The two-pass bound: read + floor (medians added, minimums added).
  for (const mode of ['train', 'backward'] as const) {
    for (const threads of [1, 2]) {
      const row = results[`${shape.join('x')} ${mode}`];
      const r = row[`read ${threads}T`], f = row[`floor ${threads}T`];
      put(shape, mode, `2-pass ${threads}T`, [r[0] + f[0], r[1] + f[1]]);
    }
  }
  setBackend('wasm');
  setNumThreads(2);
}

/**
 * Medians of several functions timed in rounds (each round calls each once, or a batch, right
 * after an untimed call of the same function).
 */
async function measureRoundRobin(fns: (() => void)[]): Promise<Stat[]> {
  const batch: number[] = [];
  for (const fn of fns) {
    const t0 = performance.now();
    let calls = 0;
    while (calls < 3 || performance.now() - t0 < 200) {
      fn();
      calls++;
      if (performance.now() - t0 > 2000) break;
    }
    batch.push((performance.now() - t0) / calls < 0.2 ? 20 : 1);
  }
  const times: number[][] = fns.map(() => []);
  const start = performance.now();
  for (let r = 0; r < REPS && (r < 5 || performance.now() - start < BUDGET_MS * fns.length); r++) {
    fns.forEach((fn, i) => {
      // One untimed call first: the timed one then runs as kernels do in a training step and
      // as the peers are timed, back to back, with the worker threads awake (a worker idle
      // for 0.5 ms sleeps, and waking a vCPU of this VM takes up to a millisecond).
      fn();
      const t0 = performance.now();
      for (let j = 0; j < batch[i]; j++) fn();
      times[i].push((performance.now() - t0) / batch[i]);
    });
    await new Promise((resolve) => setImmediate(resolve));
  }
  return times.map((t) => [median(t), Math.min(...t)] as Stat);
}

// ------------------------------------------------------------------------------------------
// TF.js (cpu, wasm), NHWC

async function benchTfjs(): Promise<void> {
  const tf = await import('@tensorflow/tfjs');
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  const { fileURLToPath } = await import('node:url');
  const dir = fileURLToPath(new URL('../node_modules/@tensorflow/tfjs-backend-wasm/dist/', import.meta.url));
  wasm.setWasmPaths(dir);
  for (const backend of ['wasm', 'cpu']) {
    if (!(await tf.setBackend(backend))) {
      process.stderr.write(`  TF.js ${backend}: unavailable\n`);
      continue;
    }
    await tf.ready();
    const col = `tfjs ${backend}`;
    for (const shape of SHAPES) {
      const size = shape.reduce((a, b) => a * b, 1);
      if (backend === 'cpu' && quick && size > 4e6) continue;
      const c = shape[1];
      const nhwc = shape.length === 4 ? [shape[0], shape[2], shape[3], c] : shape;
      const axes = nhwc.slice(0, -1).map((_, i) => i);
      const x = tf.randomNormal(nhwc, 0.5, 2, 'float32', 1);
      const dy = tf.randomNormal(nhwc, 0, 1, 'float32', 2);
      const scale = tf.randomUniform([c], 0.8, 1.2, 'float32', 3);
      const offset = tf.randomNormal([c], 0, 1, 'float32', 4);
      const rm = tf.zeros([c]);
      const rv = tf.ones([c]);
      const train = (xx: typeof x, s: typeof scale, o: typeof offset) => {
        const { mean, variance } = tf.moments(xx, axes);
        return tf.batchNorm(xx, mean, variance, o, s, 1e-5);
      };
      put(shape, 'train', col, await measure(() => tf.tidy(() => train(x, scale, offset)).dispose()));
      put(shape, 'infer', col, await measure(() => tf.tidy(() => tf.batchNorm(x, rm, rv, offset, scale, 1e-5)).dispose()));
      // TF.js has no separate BatchNorm backward: gradients of sum(bn(x) * dy) (forward included).
      const grads = tf.grads((xx, s, o) => train(xx as typeof x, s as typeof scale, o as typeof offset).mul(dy).sum());
      put(shape, 'backward', `${col} (+fwd)`, await measure(() => tf.tidy(() => grads([x, scale, offset])).forEach((t) => t.dispose())));
      tf.dispose([x, dy, scale, offset, rm, rv]);
    }
  }
}

// ------------------------------------------------------------------------------------------
// ONNX Runtime node (inference)

async function benchOrt(): Promise<void> {
  const ort = await import('onnxruntime-node');
  for (const shape of SHAPES) {
    const c = shape[1];
    const bn = shape.length === 4 ? new BatchNorm2d(c) : new BatchNorm1d(c);
    const model = new Sequential(bn).eval();
    const bytes = exportOnnx(model, shape, { dynamicBatch: false });
    const size = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(size);
    for (let i = 0; i < size; i++) data[i] = rng.normal();
    const input = new ort.Tensor('float32', data, shape);
    for (const threads of [1, 2]) {
      const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: threads, interOpNumThreads: 1 });
      const name = session.inputNames[0];
      put(shape, 'infer', `ort ${threads}T`, await measure(() => session.run({ [name]: input })));
      await session.release();
    }
  }
}

// ------------------------------------------------------------------------------------------
// PyTorch

function benchTorch(): void {
  const probe = spawnSync('/usr/bin/python3', ['-c', 'import torch'], { encoding: 'utf8' });
  if (probe.status !== 0) {
    process.stderr.write('  PyTorch: /usr/bin/python3 cannot import torch; skipped\n');
    return;
  }
  for (const threads of [1, 2]) {
    const script = new URL('./torch_bn.py', import.meta.url).pathname;
    const r = spawnSync('/usr/bin/python3', [script, String(threads), JSON.stringify(SHAPES), String(REPS)], { encoding: 'utf8', maxBuffer: 1 << 24 });
    if (r.status !== 0) {
      process.stderr.write(`  PyTorch failed: ${r.stderr}\n`);
      return;
    }
    const out = JSON.parse(r.stdout) as { torch: string; results: Record<string, Stat> };
    for (const [key, ms] of Object.entries(out.results)) {
      const [shape, mode] = key.split('|');
      put(shape.split(',').map(Number), mode as Mode, `torch ${threads}T`, ms);
    }
  }
}

// ------------------------------------------------------------------------------------------

process.stderr.write('ours and the floor\n');
for (const shape of SHAPES) await benchOurs(shape);
if (!args.includes('--ours')) {
  process.stderr.write('PyTorch\n');
  benchTorch();
  process.stderr.write('ONNX Runtime\n');
  await benchOrt();
  process.stderr.write('TF.js\n');
  await benchTfjs();
}

// Tables: medians and ratios of medians, then the same for minimums (the best of the runs:
// what the code can do when the shared machine lets it; less sensitive to other users' load).
const COLS = ['ours wasm 1T', 'ours wasm 2T', 'ours NHWC 1T', 'ours NHWC 2T', 'ours ref', 'floor 1T', 'floor 2T', 'read 1T', 'read 2T', 'torch 1T', 'torch 2T', 'ort 1T', 'ort 2T', 'tfjs wasm', 'tfjs cpu'];
// Ratios a / b of two columns, labelled by them ('ours wasm 1T' -> 'ours 1T', 'ours ref' -> 'ref').
const label = (col: string) => col.replace('ours wasm ', 'ours ').replace('ours NHWC', 'NHWC').replace('ours ref', 'ref');
const RATIOS: [string, string, string][] = ([
  ['torch 1T', 'ours wasm 1T'], ['torch 2T', 'ours wasm 2T'], ['ort 1T', 'ours wasm 1T'], ['ort 2T', 'ours wasm 2T'],
  ['tfjs wasm', 'ours wasm 1T'], ['tfjs wasm', 'ours wasm 2T'], ['tfjs cpu', 'ours wasm 1T'], ['ours ref', 'ours wasm 1T'],
  ['ours wasm 1T', 'floor 1T'], ['ours wasm 2T', 'floor 2T'], ['ours wasm 1T', '2-pass 1T'], ['ours wasm 2T', '2-pass 2T'],
  ['tfjs wasm', 'ours NHWC 1T'], ['ours NHWC 1T', 'floor 1T'], ['ours NHWC 2T', 'floor 2T'],
] as const).map(([a, b]) => [`${label(a)} / ${label(b)}`, a, b]);
const fmt = (v: number | undefined) => (v === undefined ? '–' : v < 1 ? v.toFixed(3) : v < 100 ? v.toFixed(2) : v.toFixed(0));
let md = '';
for (const [which, idx] of [['Median', 0], ['Minimum', 1]] as const) {
  const get = (row: Record<string, Stat>, col: string) => (row[col] ?? row[`${col} (+fwd)`])?.[idx];
  md += `${which} ms (float32; TF.js backward includes its forward):\n\n| shape mode | ${COLS.join(' | ')} |\n|${'---|'.repeat(COLS.length + 1)}\n`;
  for (const [key, row] of Object.entries(results)) md += `| ${key} | ${COLS.map((c) => fmt(get(row, c))).join(' | ')} |\n`;
  md += `\nRatios of ${which.toLowerCase()}s (peer time / our time: > 1 means we are faster; 'ours / floor', '/ 2-pass': our time over the memory floor and the two-pass bound; NHWC: our channels-last kernels, against TF.js (NHWC too) and the floor):\n\n| shape mode | ${RATIOS.map((r) => r[0]).join(' | ')} |\n|${'---|'.repeat(RATIOS.length + 1)}\n`;
  for (const [key, row] of Object.entries(results)) {
    md += `| ${key} | ${RATIOS.map(([, a, b]) => {
      const va = get(row, a), vb = get(row, b);
      return va === undefined || vb === undefined ? '–' : `${(va / vb).toFixed(2)}x`;
    }).join(' | ')} |\n`;
  }
  md += '\n';
}
process.stdout.write(md);
if (jsonOut) writeFileSync(jsonOut, JSON.stringify(results, null, 2));
process.exit(0);
