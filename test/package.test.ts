// The package as a user's project loads it: by name, through package.json's "exports" (self-reference),
// from an ES module and from CommonJS. Runs the built dist/ that `npm install` makes.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const built = existsSync(`${root}dist/src/index.js`);
const node = (args: string[]) => execFileSync(process.execPath, args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const train = `
  const rng = new b.RNG(0);
  const bn = new b.BatchNorm1d(3);
  bn.forward(b.randn([8, 3], { rng }));
  console.log(JSON.stringify({ keys: Object.keys(b).sort(), mean: Array.from(bn.runningMean.data) }));`;

test('import and require of "batchnorm" give the same library (dist/ built by npm install)', { skip: !built && 'dist/ not built: run npm run build' }, () => {
  const esm = JSON.parse(node(['--input-type=module', '-e', `import * as b from 'batchnorm';${train}`]));
  const cjs = JSON.parse(node(['-e', `const b = require('batchnorm');${train}`]));
  assert.ok(esm.keys.includes('BatchNorm2d') && esm.keys.includes('exportOnnx'), `exports: ${esm.keys.join(', ')}`);
  assert.deepEqual(cjs.keys, esm.keys);
  assert.deepEqual(cjs.mean, esm.mean);
  assert.ok(esm.mean.some((v: number) => v !== 0), 'the running mean moved after a training step');
});
