/**
 * The MNIST lab's training step, ours against PyTorch, in one run: 784-100-100-100-10 sigmoid
 * MLP, without BN and with BatchNorm1d before each sigmoid, batch 60, cross-entropy, plain SGD
 * (lr 0.5); one step = zero grads, forward, loss, backward, update, on a fixed random batch
 * (speed does not depend on the pixel values). The same step as bench/mlp_torch.py, which is
 * run here with /usr/bin/python3 for the PyTorch numbers (1 and 2 threads).
 *
 * Ours runs the step inside `tidy()`, as the lab does (activations go back to the allocator
 * when the step ends, as PyTorch's reference counting frees them); the row "plain loop" is
 * the same step without tidy (activations wait for the garbage collector).
 *
 *   npx tsx bench/mlp_step.ts [--steps 300] [--repeats 5] [--no-torch]
 *
 * Runs `--repeats` rounds; each round times every configuration of ours once and then
 * PyTorch's once (so load changes on a shared machine hit both alike). Prints the median
 * steps/s over the rounds for each configuration, and the ratio to PyTorch at its best thread
 * count. The plain TypeScript kernels (`ref`) are timed once, at the end.
 */
import { spawnSync } from 'node:child_process';
import {
  CrossEntropyLoss, getNumThreads, Linear, BatchNorm1d, RNG, Sequential, SGD, Sigmoid, setBackend, setNumThreads, tensor,
  tidy, type Module,
} from '../src/index.js';

const args = process.argv.slice(2);
const opt = (name: string, def: number) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : def);
const steps = opt('--steps', 300);
const repeats = opt('--repeats', 5);

function mlp(bn: boolean, rng: RNG): Module {
  const layers: Module[] = [];
  let width = 784;
  for (let i = 0; i < 3; i++) {
    layers.push(new Linear(width, 100, { rng }));
    if (bn) layers.push(new BatchNorm1d(100));
    layers.push(new Sigmoid());
    width = 100;
  }
  layers.push(new Linear(width, 10, { rng }));
  return new Sequential(...layers);
}

function stepsPerSecond(bn: boolean, useTidy: boolean): number {
  const rng = new RNG(0);
  const model = mlp(bn, rng);
  const sgd = new SGD(model.parameters(), { lr: 0.5 });
  const lossFn = new CrossEntropyLoss();
  const x = tensor(Array.from({ length: 60 * 784 }, () => rng.uniform()), [60, 784]);
  const y = tensor(Array.from({ length: 60 }, () => Math.floor(rng.uniform() * 10)), [60], { dtype: 'int64' });
  const plainStep = () => {
    sgd.zeroGrad();
    lossFn.forward(model.forward(x), y).backward();
    sgd.step();
  };
  const step = useTidy ? () => tidy(plainStep) : plainStep;
  for (let i = 0; i < 20; i++) step();
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) step();
  return steps / ((performance.now() - t0) / 1000);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
type Row = { who: string; threads: number; bn: boolean; runs: number[] };
const rows = new Map<string, Row>();
const note = (who: string, threads: number, bn: boolean, rate: number) => {
  const key = `${who}|${threads}|${bn}`;
  if (!rows.has(key)) rows.set(key, { who, threads, bn, runs: [] });
  rows.get(key)!.runs.push(rate);
};

// Rounds: each round times every configuration of ours once, then PyTorch's once (a fresh
// python process), so a change of load on this shared machine hits both sides alike.
const torchScript = new URL('./mlp_torch.py', import.meta.url).pathname;
let torchSkipped: string | null = args.includes('--no-torch') ? 'not asked for' : null;
const OURS = [[1, true], [2, true], [2, false]] as const;
setBackend('wasm');
for (let round = 0; round < repeats; round++) {
  for (const [threads, useTidy] of OURS) {
    setNumThreads(threads);
    for (const bn of [false, true]) {
      note(`ours wasm${useTidy ? '' : ' (plain loop)'}`, getNumThreads(), bn, stepsPerSecond(bn, useTidy));
      await new Promise((resolve) => setImmediate(resolve)); // let finalizers return wasm blocks
    }
  }
  if (torchSkipped === null) {
    const r = spawnSync('/usr/bin/python3', [torchScript, '--steps', String(steps), '--repeats', '1'], { encoding: 'utf8' });
    if (r.status !== 0) {
      torchSkipped = r.stderr.trim().split('\n').pop() ?? 'failed';
    } else {
      const lines = r.stdout.trim().split('\n');
      for (const t of JSON.parse(lines[lines.length - 1]) as { threads: number; bn: boolean; steps_per_s: number }[]) {
        note('pytorch', t.threads, t.bn, t.steps_per_s);
      }
    }
  }
  console.log(`round ${round + 1}/${repeats} done`);
}
// The plain TypeScript kernels, once (a repeat takes seconds).
setBackend('ref');
setNumThreads(1);
for (const bn of [false, true]) note('ours ref', 1, bn, stepsPerSecond(bn, true));
setBackend('wasm');

for (const r of rows.values()) {
  const rate = median(r.runs);
  console.log(`${r.who.padEnd(24)} threads ${r.threads}  ${r.bn ? 'with BN   ' : 'without BN'}  ${rate.toFixed(1).padStart(8)} steps/s  (median of ${r.runs.length}: ${r.runs.map((v) => v.toFixed(0)).join(' ')})`);
}
if (torchSkipped !== null) {
  console.log(`PyTorch: skipped (${torchSkipped})`);
} else {
  for (const bn of [false, true]) {
    const best = (who: string) => Math.max(...[...rows.values()].filter((q) => q.who === who && q.bn === bn).map((q) => median(q.runs)));
    const torch = best('pytorch');
    console.log(`${bn ? 'with BN   ' : 'without BN'}: ours wasm best ${best('ours wasm').toFixed(1)} / PyTorch best ${torch.toFixed(1)} = ${(best('ours wasm') / torch).toFixed(2)}x (plain loop ${(best('ours wasm (plain loop)') / torch).toFixed(2)}x)`);
  }
}
process.exit(0);
