/**
 * Training speed of the lab's MNIST network (src/experiments/mnistMlp.ts), for comparison with
 * bench/mlp_torch.py: 784-100-100-100-10 sigmoid MLP, without and with BN before each sigmoid,
 * batch 60, plain SGD; one step = gather the batch, forward, backward, update. Real MNIST
 * batches. Prints the median steps/s of 5 repeats for each registered backend.
 *
 *   npx tsx bench/mlp.ts [--steps 200]
 */
import { getBackend, getNumThreads, listBackends, setBackend } from '../src/kernels/index.js';
import { loadMnist } from '../src/data/mnist.js';
import { createMlpTrainer, defaultMlpConfig } from '../src/experiments/mnistMlp.js';

const args = process.argv.slice(2);
const steps = Number(args[args.indexOf('--steps') + 1] ?? 200) || 200;
const repeats = 5;
const data = loadMnist({ limit: 6000 });

for (const backend of listBackends()) {
  setBackend(backend);
  for (const bn of ['none', 'before'] as const) {
    const rates: number[] = [];
    for (let r = 0; r < repeats; r++) {
      const t = createMlpTrainer({ ...defaultMlpConfig, bn, steps }, data);
      for (let i = 0; i < 10; i++) t.step(); // warm-up (JIT)
      const t0 = performance.now();
      for (let i = 0; i < steps; i++) t.step();
      rates.push(steps / ((performance.now() - t0) / 1000));
    }
    rates.sort((a, b) => a - b);
    const median = rates[Math.floor(repeats / 2)];
    console.log(`batchnorm ${getBackend().padEnd(5)} threads ${getNumThreads()}  ${bn === 'none' ? 'without BN' : 'with BN   '}  ${median.toFixed(1).padStart(8)} steps/s (median of ${repeats}, ${steps} steps each)`);
  }
}
