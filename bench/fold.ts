/**
 * foldBatchNorm: inference speed of a model with BatchNorm vs the same model folded, in this
 * library (eval mode, current kernel backend) and in ONNX Runtime (the exported files).
 *
 *   npx tsx bench/fold.ts [--reps 30]
 *
 * Prints the median time per forward pass (the two variants timed alternately) and the speedup. Models: the MNIST MLP of the lab
 * (784-100-100-100-10, BatchNorm1d after each hidden Linear, sigmoid) and a small conv net
 * (Conv2d 1->8 3x3, BN, ReLU, MaxPool, Conv2d 8->16 3x3, BN, ReLU, MaxPool, Linear 784->10, BN).
 */
import * as ort from 'onnxruntime-node';
import {
  BatchNorm1d, BatchNorm2d, Conv2d, Flatten, foldBatchNorm, getBackend, Linear, MaxPool2d, noGrad, ReLU, RNG, randn,
  Sequential, Sigmoid, exportOnnx, type Module,
} from '../src/index.js';

const reps = Number(process.argv[process.argv.indexOf('--reps') + 1]) || 30;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

/** Median times of two functions, measured alternately so load changes hit both alike. */
async function timePair(a: () => unknown, b: () => unknown): Promise<[number, number]> {
  for (let i = 0; i < 3; i++) { await a(); await b(); } // warm-up
  const ta: number[] = [];
  const tb: number[] = [];
  for (let i = 0; i < reps; i++) {
    let t0 = performance.now();
    await a();
    ta.push(performance.now() - t0);
    t0 = performance.now();
    await b();
    tb.push(performance.now() - t0);
  }
  return [median(ta), median(tb)];
}

function trained(model: Module, inputShape: number[], rng: RNG): Module {
  noGrad(() => { for (let i = 0; i < 5; i++) model.forward(randn(inputShape, { rng })); });
  return model.eval();
}

const rng = new RNG(0);
const mlp = () => new Sequential(
  new Linear(784, 100, { rng }), new BatchNorm1d(100), new Sigmoid(),
  new Linear(100, 100, { rng }), new BatchNorm1d(100), new Sigmoid(),
  new Linear(100, 100, { rng }), new BatchNorm1d(100), new Sigmoid(),
  new Linear(100, 10, { rng }),
);
const conv = () => new Sequential(
  new Conv2d(1, 8, 3, { padding: 1, rng }), new BatchNorm2d(8), new ReLU(), new MaxPool2d(2),
  new Conv2d(8, 16, 3, { padding: 1, rng }), new BatchNorm2d(16), new ReLU(), new MaxPool2d(2),
  new Flatten(), new Linear(16 * 7 * 7, 10, { rng }), new BatchNorm1d(10),
);

console.log(`foldBatchNorm benchmark: median of ${reps} forward passes, eval mode, backend '${getBackend()}', ORT ${ort.env.versions?.common}, ${new Date().toISOString().slice(0, 10)}`);
console.log('model  batch   engine   with BN (ms)  folded (ms)  speedup');
for (const [name, make, sample] of [['MLP', mlp, [784]], ['conv', conv, [1, 28, 28]]] as const) {
  for (const batch of [1, 60, 1000]) {
    const shape = [batch, ...sample];
    const model = trained(make(), shape.map((d, i) => (i === 0 ? 60 : d)), rng);
    const folded = foldBatchNorm(model);
    const x = randn(shape, { rng });
    const [a, b] = await timePair(() => noGrad(() => model.forward(x)), () => noGrad(() => folded.forward(x)));
    console.log(`${name.padEnd(6)} ${String(batch).padStart(5)}   ours     ${a.toFixed(3).padStart(12)} ${b.toFixed(3).padStart(12)}  ${(a / b).toFixed(2)}x`);
    const feeds = { input: new ort.Tensor('float32', Float32Array.from(x.data), shape) };
    const sA = await ort.InferenceSession.create(exportOnnx(model, shape), { intraOpNumThreads: 1 });
    const sB = await ort.InferenceSession.create(exportOnnx(model, shape, { fold: true }), { intraOpNumThreads: 1 });
    const [oa, ob] = await timePair(() => sA.run(feeds), () => sB.run(feeds));
    console.log(`${name.padEnd(6)} ${String(batch).padStart(5)}   ORT      ${oa.toFixed(3).padStart(12)} ${ob.toFixed(3).padStart(12)}  ${(oa / ob).toFixed(2)}x`);
  }
}
