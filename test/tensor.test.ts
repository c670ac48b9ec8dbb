// Creating tensors as a PyTorch user would type it: `zeros(2, 3)`, `tensor(data, { requiresGrad })`,
// a Float64Array keeping its type, and the errors a wrong call gets.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { inspect } from 'node:util';
import { ones, rand, randn, RNG, sum, mul, Tensor, tensor, zeros, full, type DType } from '../src/index.js';

test('zeros/ones/randn/rand take the shape as an array or as integers (torch.zeros(2, 3)), options last', () => {
  assert.deepEqual(zeros(2, 3).shape, [2, 3]);
  assert.deepEqual(zeros([2, 3]).shape, [2, 3]);
  assert.deepEqual(ones(4).shape, [4]);
  assert.deepEqual(Array.from(ones(2, 2).data), [1, 1, 1, 1]);
  assert.equal(zeros(2, 3, { dtype: 'float64' }).dtype, 'float64');
  assert.equal(ones([2], { requiresGrad: true }).requiresGrad, true);
  assert.deepEqual(Array.from(randn(2, 3, { rng: new RNG(7) }).data), Array.from(randn([2, 3], { rng: new RNG(7) }).data));
  const u = rand(3, 4, { rng: new RNG(7), low: 2, high: 3 });
  assert.deepEqual(u.shape, [3, 4]);
  assert.ok(u.data.every((v) => v >= 2 && v < 3), "u.data.every((v) => v >= 2 && v < 3)");
  assert.deepEqual(zeros([]).shape, [], 'an empty shape is a scalar');
  assert.deepEqual(randn([2, 3], undefined).shape, [2, 3], 'options passed on as undefined');
});

test('tensor(data, options) without a shape, as torch.tensor(data, requires_grad=True)', () => {
  const t = tensor([1, 2], { requiresGrad: true });
  assert.deepEqual(t.shape, [2]);
  sum(mul(t, t)).backward();
  assert.deepEqual(Array.from(t.grad!.data), [2, 4]);
  assert.equal(tensor([[1, 2]], { dtype: 'float64' }).dtype, 'float64');
  assert.deepEqual(tensor([1, 2, 3, 4], [2, 2], { requiresGrad: true }).shape, [2, 2], 'the (data, shape, options) form still works');
});

test('a Float64Array keeps float64 unless a dtype is given; other arrays give float32', () => {
  assert.equal(tensor(new Float64Array([0.1, 0.2])).dtype, 'float64');
  assert.equal(tensor(new Float64Array([0.1, 0.2])).data[0], 0.1, 'no rounding to float32');
  assert.equal(tensor(new Float64Array(4), [2, 2], { dtype: 'float32' }).dtype, 'float32');
  assert.equal(tensor(new Float32Array(2)).dtype, 'float32');
  assert.equal(tensor([0.1]).dtype, 'float32');
});

test('wrong calls name what was expected and what came', () => {
  const cases: [string, () => unknown, RegExp][] = [
    ['no shape', () => (zeros as () => Tensor)(), /^zeros\(\): missing the shape/],
    ['string dim', () => zeros('2' as unknown as number), /^zeros\(\): expected a shape as an array or as integers \(got string 2\)$/],
    ['mixed', () => randn(2 as never, [3] as never), /^randn\(\): expected a shape as an array or as integers \(got number 2, Array\)$/],
    ['negative', () => ones(2, -1), /^shape must contain non-negative integers \(got \[2, -1\]\)$/],
    ['dtype', () => zeros(2, { dtype: 'int32' as never }), /^dtype must be one of 'float32', 'float64', 'int64' \(got 'int32'\)$/],
    ['dtype of tensor()', () => tensor([1], { dtype: 'float16' as never }), /got 'float16'/],
    ['dtype of full()', () => full([1], 0, { dtype: 'bool' as never }), /got 'bool'/],
    ['dtype of the constructor', () => new Tensor(new Float64Array(1), [1], 'uint8' as never), /got 'uint8'/],
    ['data', () => tensor(undefined as never), /^tensor\(\): expected a number, nested arrays of numbers or a typed array \(got undefined\)$/],
    ['shape not an array', () => tensor([1, 2], 2 as never), /^shape must be an array of non-negative integers \(got number 2\)$/],
  ];
  for (const [name, f, expected] of cases) assert.throws(f, (e: Error) => e instanceof TypeError || e instanceof RangeError ? expected.test(e.message) : false, name);
});

test('to(dtype), double(), float(): converted copies, the same tensor for the same dtype, gradient in the input dtype', () => {
  const x = tensor([-1.7, 2.5, -0.5, 3], { requiresGrad: true });
  assert.equal(x.to('float32'), x, 'same dtype: the tensor itself (PyTorch)');
  const d = x.double();
  assert.equal(d.dtype, 'float64');
  assert.deepEqual(Array.from(d.data), Array.from(x.data), 'float32 -> float64 is exact');
  // torch.tensor([-1.7, 2.5, -0.5, 3.]).to(torch.int64) -> [-1, 2, 0, 3]: toward zero
  const i = x.to('int64');
  assert.equal(i.dtype, 'int64');
  assert.deepEqual(Array.from(i.data), [-1, 2, 0, 3]);
  assert.equal(i.requiresGrad, false, 'an integer result has no gradient');
  const back = tensor(Float64Array.of(0.1, 1 / 3)).float();
  assert.deepEqual(Array.from(back.data), [Math.fround(0.1), Math.fround(1 / 3)], 'float64 -> float32 rounds to nearest');
  // The gradient of a cast is the cast of the gradient: d/dx sum(double(x) * w) = w, in x's dtype.
  const w = tensor(Float64Array.of(0.5, -2, 3, 1e-3));
  d.mul(w).sum().backward();
  assert.equal(x.grad!.dtype, 'float32');
  assert.deepEqual(Array.from(x.grad!.data), Array.from(Float32Array.from(w.data)));
  assert.throws(() => tensor([1, NaN]).to('int64'), /cannot convert NaN to int64 \(element 1\)/);
  assert.throws(() => x.to('float16' as never), /dtype must be one of 'float32', 'float64', 'int64' \(got 'float16'\)/);
});

test('reshape and view take the sizes as arguments or as one array, as in PyTorch', () => {
  const x = tensor([1, 2, 3, 4, 5, 6]);
  for (const y of [x.reshape([3, 2]), x.reshape(3, 2), x.view([-1, 2]), x.view(3, -1)]) {
    assert.deepEqual(y.shape, [3, 2]);
    assert.deepEqual(y.toArray(), [[1, 2], [3, 4], [5, 6]]);
  }
  assert.throws(() => x.reshape([4, 2]), /shape '\[4, 2\]' is invalid for input of size 6/);
});

test('toString and console.log print the values as PyTorch does (str(tensor) of torch 1.13, scripts/gen_fixtures.py)', () => {
  const fixture = JSON.parse(readFileSync(new URL('./fixtures/printing.json', import.meta.url), 'utf8')) as {
    cases: { name: string; data: (number | string)[]; shape: number[]; dtype: DType; requiresGrad: boolean; gradFn: string | null; str: string }[];
  };
  for (const c of fixture.cases) {
    const values = c.data.map((v) => (typeof v === 'number' ? v : ({ nan: NaN, inf: Infinity, '-inf': -Infinity } as Record<string, number>)[v]));
    let t = tensor(values, c.shape, { dtype: c.dtype, requiresGrad: c.requiresGrad || c.gradFn !== null });
    if (c.gradFn) t = t.mul(1);
    // Our spelling of PyTorch's suffixes; int64 is not our default dtype, so it is always named.
    let expected = c.str
      .replace('dtype=torch.float64', 'dtype=float64')
      .replace('requires_grad=True', 'requiresGrad=true')
      .replace(/grad_fn=<(\w+?)\d*>/, 'gradFn=<$1>')
      .replace(/size=\((\d+), (\d+)\)/, 'shape=[$1, $2]');
    if (c.dtype === 'int64') expected = `${expected.slice(0, -1)}, dtype=int64)`;
    assert.equal(t.toString(), expected, c.name);
    assert.equal(inspect(t), expected, `${c.name}: console.log`);
  }
});
