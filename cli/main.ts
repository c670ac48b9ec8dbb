#!/usr/bin/env node
import { Command } from 'commander';
import { registerExample } from './commands/example.js';

const program = new Command();
program.name('batchnorm').description('Batch Normalization for TypeScript: examples and experiments');
registerExample(program);
program.parseAsync(process.argv).catch((e: unknown) => {
  console.error(`batchnorm: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
