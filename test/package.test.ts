// The package as a user's project loads it: by name, through package.json's "exports" (self-reference),
// from an ES module and from CommonJS. Runs the built dist/ that `npm install` makes.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as lib from '../src/index.js';
import { BatchNorm2d, Linear, ReLU, Sequential } from '../src/index.js';

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

test('a minified bundle (esbuild --minify, as a production build of a web app) keeps class names in printing and errors', async () => {
  // Minifiers rename classes (BatchNorm2d -> JA); the library's classes declare their names.
  const { build } = await import('esbuild');
  const entry = `import * as b from './src/index.ts';
    const m = new b.Sequential(new b.BatchNorm2d(4), new b.ReLU(), new b.Linear(2, 3));
    let error = '';
    try { m.forward(b.zeros(1, 1, 1, 1)); } catch (e) { error = e.message; }
    let typeError = '';
    try { b.relu(m); } catch (e) { typeError = e.message; }
    console.log(JSON.stringify({ printed: String(m), error, typeError }));`;
  const out = await build({ stdin: { contents: entry, resolveDir: root, loader: 'ts' }, bundle: true, minify: true, platform: 'node', format: 'esm', write: false, logLevel: 'silent' });
  const code = out.outputFiles[0].text;
  assert.doesNotMatch(code, /class BatchNorm2d\b/, 'the bundle really renames classes');
  const dir = mkdtempSync(join(tmpdir(), 'bundle-'));
  let r: { printed: string; error: string; typeError: string };
  try {
    writeFileSync(join(dir, 'bundle.mjs'), code);
    r = JSON.parse(node([join(dir, 'bundle.mjs')]));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.equal(r.printed, String(new Sequential(new BatchNorm2d(4), new ReLU(), new Linear(2, 3))));
  assert.match(r.printed, /^Sequential\(\n  \(0\): BatchNorm2d\(4, /);
  assert.equal(r.error, 'BatchNorm2d(4): expected input with 4 channels in dim 1 (got 1 channels, input shape [1, 1, 1, 1])');
  assert.equal(r.typeError, "relu(): argument 'input' (position 1) must be Tensor, not Sequential");
});

test('every exported class declares its name (displayName), which minified bundles keep', () => {
  const classes = Object.entries(lib).filter(([k, v]) => /^[A-Z]/.test(k) && typeof v === 'function' && /^class\b/.test(Function.prototype.toString.call(v)));
  assert.ok(classes.length > 20, `${classes.length} classes`);
  for (const [name, cls] of classes) assert.equal(Object.hasOwn(cls, 'displayName') && (cls as { displayName?: string }).displayName, name, name);
});

test('a bundle that uses only BatchNorm leaves the ONNX exporter and protobufjs out (package.json "sideEffects")', { skip: !built && 'dist/ not built: run npm run build' }, async () => {
  // Only the kernel modules register things when imported; every other module may be dropped
  // when its exports are unused. Without the field, every web app carried protobufjs (~80 KB).
  const { build } = await import('esbuild');
  const entry = `import { BatchNorm2d, randn, RNG, backendInfo } from './dist/src/index.js';
    const bn = new BatchNorm2d(3);
    const y = bn.forward(randn([4, 3, 5, 5], { rng: new RNG(1) }));
    console.log(JSON.stringify({ backend: backendInfo().backend, y: Array.from(y.data.subarray(0, 5)), mean: Array.from(bn.runningMean.data) }));`;
  const out = await build({ stdin: { contents: entry, resolveDir: root, loader: 'js' }, bundle: true, minify: true, platform: 'node', format: 'esm', write: false, metafile: true, logLevel: 'silent' });
  const inputs = Object.keys(out.metafile.outputs[Object.keys(out.metafile.outputs)[0]].inputs);
  assert.ok(inputs.some((p) => p.includes('kernels/wasm')), 'the wasm kernels are in the bundle');
  assert.deepEqual(inputs.filter((p) => /protobufjs|io\/onnx/.test(p)), []);
  const dir = mkdtempSync(join(tmpdir(), 'bundle-'));
  try {
    writeFileSync(join(dir, 'bundle.mjs'), out.outputFiles[0].text);
    const bundled = JSON.parse(node([join(dir, 'bundle.mjs')]));
    const direct = JSON.parse(node(['--input-type=module', '-e', entry.replace("'./dist/src/index.js'", "'batchnorm'")]));
    assert.equal(bundled.backend, 'wasm', 'the kernels registered themselves in the bundle');
    assert.deepEqual(bundled, direct);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the published types (dist/src/*.d.ts) in a strict consumer: exactOptionalPropertyTypes, noUncheckedIndexedAccess, read-only shapes, the named types, mistakes caught (test/types/consumer.ts)", { skip: !built && 'dist/ not built: run npm run build' }, () => {
  const tsc = join(root, 'node_modules/typescript/bin/tsc');
  const flags = ['--ignoreConfig', '--noEmit', '--strict', '--exactOptionalPropertyTypes', '--noUncheckedIndexedAccess', '--noImplicitOverride',
    '--target', 'es2022', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--lib', 'es2022,dom', '--types', 'node'];
  try {
    node([tsc, ...flags, 'test/types/consumer.ts']);
  } catch (err) {
    assert.fail(`tsc reports:\n${(err as { stdout: string }).stdout}`);
  }
});

test('the source maps carry their sources (the package ships dist/ only: a stack trace or a debugger finds the TypeScript)', { skip: !built && 'dist/ not built: run npm run build' }, () => {
  const map = JSON.parse(readFileSync(join(root, 'dist/src/nn/batchnorm.js.map'), 'utf8')) as { sources: string[]; sourcesContent?: string[] };
  assert.equal(map.sourcesContent?.length, map.sources.length);
  assert.match(map.sourcesContent![0]!, /export class BatchNorm/);
});
