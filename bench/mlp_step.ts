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
 * Prints the median steps/s of the repeats for each backend and thread count, and the ratio
 * to PyTorch at its best thread count.
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
const rows: { who: string; threads: number; bn: boolean; rate: number }[] = [];
for (const [backend, threads, useTidy] of [['wasm', 1, true], ['wasm', 2, true], ['wasm', 2, false], ['ref', 1, true]] as const) {
  setBackend(backend);
  setNumThreads(threads);
  for (const bn of [false, true]) {
    const runs: number[] = [];
    for (let r = 0; r < repeats; r++) {
      runs.push(stepsPerSecond(bn, useTidy));
      await new Promise((resolve) => setImmediate(resolve)); // let finalizers return wasm blocks
    }
    const rate = median(runs);
    const who = `ours ${backend}${useTidy ? '' : ' (plain loop)'}`;
    rows.push({ who, threads: getNumThreads(), bn, rate });
    console.log(`${who.padEnd(24)} threads ${getNumThreads()}  ${bn ? 'with BN   ' : 'without BN'}  ${rate.toFixed(1).padStart(8)} steps/s`);
  }
}

if (!args.includes('--no-torch')) {
  const script = new URL('./mlp_torch.py', import.meta.url).pathname;
  const r = spawnSync('/usr/bin/python3', [script, '--steps', String(steps), '--repeats', String(repeats)], { encoding: 'utf8' });
  if (r.status !== 0) {
    console.log(`PyTorch: skipped (${r.stderr.trim().split('\n').pop()})`);
  } else {
    const lines = r.stdout.trim().split('\n');
    const results = JSON.parse(lines[lines.length - 1]) as { threads: number; bn: boolean; steps_per_s: number }[];
    for (const t of results) {
      rows.push({ who: 'torch', threads: t.threads, bn: t.bn, rate: t.steps_per_s });
      console.log(`${'pytorch'.padEnd(24)} threads ${t.threads}  ${t.bn ? 'with BN   ' : 'without BN'}  ${t.steps_per_s.toFixed(1).padStart(8)} steps/s`);
    }
    for (const bn of [false, true]) {
      const best = (who: string) => Math.max(...rows.filter((q) => q.who === who && q.bn === bn).map((q) => q.rate));
      const torch = best('torch');
      console.log(`${bn ? 'with BN   ' : 'without BN'}: ours wasm best ${best('ours wasm').toFixed(1)} / PyTorch best ${torch.toFixed(1)} = ${(best('ours wasm') / torch).toFixed(2)}x (plain loop ${(best('ours wasm (plain loop)') / torch).toFixed(2)}x)`);
    }
  }
}
process.exit(0);
