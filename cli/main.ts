#!/usr/bin/env node
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { registerExample } from './commands/example.js';
import { registerMnist } from './commands/mnist.js';
import { registerPlacement } from './commands/placement.js';
import { registerLrSweep } from './commands/lrSweep.js';
import { registerPredict } from './commands/predict.js';
import { registerInterop } from './commands/interop.js';
import { registerConvnet } from './commands/convnet.js';
import { registerSanturkar } from './commands/santurkar.js';
import { registerDepth } from './commands/depth.js';

const program = new Command();
/** The package's version, from the nearest package.json above this file (dist/cli or cli). */
function packageVersion(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); dir !== dirname(dir); dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
  }
  return 'unknown';
}

program
  .name('batchnorm')
  .description('Batch Normalization for TypeScript: examples and experiments')
  .version(packageVersion(), '-V, --version', 'print the version');
registerExample(program);
registerMnist(program);
registerPlacement(program);
registerLrSweep(program);
registerPredict(program);
registerInterop(program);
registerConvnet(program);
registerSanturkar(program);
registerDepth(program);
program.parseAsync(process.argv).catch((e: unknown) => {
  console.error(`batchnorm: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
