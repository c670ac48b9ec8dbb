/**
 * The TypeScript half of the PyTorch round trip: trains two small models here (an MLP with
 * BatchNorm1d and a conv net with BatchNorm2d) for a few SGD steps and saves them as checkpoints
 * (safetensors + architecture metadata) to test/fixtures/interop/ts_{mlp,conv}.safetensors.
 * scripts/gen_interop_fixtures.py then loads them into PyTorch and writes what PyTorch computes
 * with them, which test/interop.test.ts compares with what we compute.
 *
 *   npx tsx scripts/gen_ts_interop.ts && /usr/bin/python3 scripts/gen_interop_fixtures.py
 */
import { fileURLToPath } from 'node:url';
import {
  BatchNorm1d, BatchNorm2d, Conv2d, crossEntropy, Flatten, Linear, MaxPool2d, ReLU, RNG, randn, saveCheckpoint,
  Sequential, SGD, Sigmoid, Tanh, type Module,
} from '../src/index.js';

const OUT = fileURLToPath(new URL('../test/fixtures/interop/', import.meta.url));

function tsModels(rng: RNG): Record<string, { model: Module; input: number[] }> {
  return {
    mlp: {
      model: new Sequential(
        new Linear(6, 8, { rng }), new BatchNorm1d(8), new ReLU(),
        new Linear(8, 4, { rng }), new BatchNorm1d(4, { momentum: 0.3, eps: 1e-3 }), new Tanh(),
        new Linear(4, 3, { rng }),
      ),
      input: [6],
    },
    conv: {
      model: new Sequential(
        new Conv2d(2, 4, 3, { padding: 1, rng }), new BatchNorm2d(4, { momentum: null }), new ReLU(), new MaxPool2d(2),
        new Flatten(), new Linear(36, 5, { rng }), new BatchNorm1d(5), new Sigmoid(), new Linear(5, 3, { rng }),
      ),
      input: [2, 6, 6],
    },
  };
}

const rng = new RNG(2024);
for (const [name, { model, input }] of Object.entries(tsModels(rng))) {
  const opt = new SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
  for (let step = 0; step < 3; step++) {
    const x = randn([8, ...input], { rng }).mul(2).add(0.5).detach();
    const target = Array.from({ length: 8 }, () => Math.floor(rng.uniform() * 3));
    const loss = crossEntropy(model.forward(x), target);
    opt.zeroGrad();
    loss.backward();
    opt.step();
  }
  const path = `${OUT}ts_${name}.safetensors`;
  saveCheckpoint(path, model, { note: 'written by scripts/gen_ts_interop.ts after 3 SGD steps' });
  console.log(`wrote ${path}`);
}
