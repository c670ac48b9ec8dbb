// Shared test utilities: tolerance comparison and float64 central-difference gradient checks.
//
// Give assert.ok a message: when it fails without one, Node 20 rebuilds the failed expression from
// the source file, which under tsx can spin without end (seen in module.test.ts); npm test's
// --test-timeout then cancels the file after 10 minutes instead of CI hanging.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { RNG, tensor, Tensor, type DType } from '../src/index.js';

export interface Tolerance {
  /** Relative to each expected element. */
  rtol: number;
  /** Absolute, as a fraction of the largest |expected| in the array (so it scales with the data). */
  atolScale: number;
}

/** float32 results against a reference: about 100 float32 ulps of the array's scale. */
export const FLOAT32: Tolerance = { rtol: 1e-5, atolScale: 1e-5 };
/** float64 results against a float64 reference. */
export const FLOAT64: Tolerance = { rtol: 1e-10, atolScale: 1e-10 };

/** Asserts |actual - expected| <= rtol * |expected| + atolScale * max|expected| elementwise; names the worst element. */
export function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: Tolerance, label: string): void {
  assert.equal(actual.length, expected.length, `${label}: length ${actual.length} != expected ${expected.length}`);
  // A missing field would make every comparison NaN, which never fails: refuse it.
  assert.ok(Number.isFinite(tol.rtol) && Number.isFinite(tol.atolScale), `${label}: tolerance needs rtol and atolScale (got ${JSON.stringify(tol)})`);
  let scale = 0;
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i]));
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i];
    const e = expected[i];
    if (!Number.isFinite(a)) assert.fail(`${label}[${i}]: got ${a}, expected ${e}`);
    const excess = Math.abs(a - e) - (tol.rtol * Math.abs(e) + tol.atolScale * scale);
    if (excess > worstExcess) {
      worstExcess = excess;
      worst = i;
    }
  }
  if (worst >= 0) {
    assert.fail(`${label}[${worst}]: got ${actual[worst]}, expected ${expected[worst]} (|diff| ${Math.abs(actual[worst] - expected[worst]).toExponential(3)}, scale ${scale.toExponential(3)})`);
  }
}

/** A float64 tensor of normals from a seeded generator, shifted and scaled. */
export function randomTensor(shape: number[], seed: number, opts: { mean?: number; std?: number; dtype?: DType; requiresGrad?: boolean } = {}): Tensor {
  const rng = new RNG(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const data = Array.from({ length: n }, () => (opts.mean ?? 0) + (opts.std ?? 1) * rng.normal());
  return tensor(data, shape, { dtype: opts.dtype ?? 'float64', requiresGrad: opts.requiresGrad ?? false });
}

/**
 * Checks the gradients autograd gives for `fn` against float64 central differences
 * (f(x + h) - f(x - h)) / 2h of the scalar L = sum(fn(inputs) * W) for a fixed random W,
 * for every input that requires a gradient.
 */
export function gradcheck(fn: (...inputs: Tensor[]) => Tensor, inputs: Tensor[], { h = 1e-6, tol = 1e-6, seed = 7 } = {}): void {
  for (const t of inputs) assert.equal(t.dtype, 'float64', 'gradcheck needs float64 inputs');
  const probe = fn(...inputs);
  const w = randomTensor([...probe.shape], seed);
  const loss = (): number => {
    const out = fn(...inputs);
    let s = 0;
    for (let i = 0; i < out.size; i++) s += out.data[i] * w.data[i];
    return s;
  };
  for (const t of inputs) t.grad = null;
  fn(...inputs).mul(w).sum().backward();
  inputs.forEach((t, k) => {
    if (!t.requiresGrad) return;
    assert.ok(t.grad, `input ${k} got no gradient`);
    const numeric = new Float64Array(t.size);
    for (let i = 0; i < t.size; i++) {
      const keep = t.data[i];
      t.data[i] = keep + h;
      const up = loss();
      t.data[i] = keep - h;
      const down = loss();
      t.data[i] = keep;
      numeric[i] = (up - down) / (2 * h);
    }
    assertClose(t.grad!.data, numeric, { rtol: tol, atolScale: tol }, `gradient of input ${k}`);
  });
}

export function loadFixture<T>(name: string): T {
  return JSON.parse(readFileSync(fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url)), 'utf8')) as T;
}
