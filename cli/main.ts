#!/usr/bin/env node
import { Command } from 'commander';
import { registerExample } from './commands/example.js';
import { registerMnist } from './commands/mnist.js';
import { registerPlacement } from './commands/placement.js';
import { registerLrSweep } from './commands/lrSweep.js';
import { registerPredict } from './commands/predict.js';
import { registerInterop } from './commands/interop.js';
import { registerConvnet } from './commands/convnet.js';
import { registerSanturkar } from './commands/santurkar.js';

const program = new Command();
program.name('batchnorm').description('Batch Normalization for TypeScript: examples and experiments');
registerExample(program);
registerMnist(program);
registerPlacement(program);
registerLrSweep(program);
registerPredict(program);
registerInterop(program);
registerConvnet(program);
registerSanturkar(program);
program.parseAsync(process.argv).catch((e: unknown) => {
  console.error(`batchnorm: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
