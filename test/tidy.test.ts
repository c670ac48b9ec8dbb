// tidy(), keep() and the release of unread gradients by zeroGrad: memory comes back to the
// allocator at once, and nothing the caller can still reach is ever released (a released
// tensor throws when used, it never reads recycled memory).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { getBackend, setBackend } from '../src/kernels/index.js';
import { wasmRuntime } from '../src/kernels/wasm/index.js';
import {
  BatchNorm1d, CrossEntropyLoss, keep, Linear, noGrad, Parameter, RNG, Sequential, SGD, Adam, Sigmoid, tensor, tidy, type Module, type Tensor,
} from '../src/index.js';

const rt = wasmRuntime!;
// Sizes that are multiples of 16 floats (64-byte blocks), so block bytes are tensor bytes.
const rand = (shape: number[], seed: number, requiresGrad = false) => {
  const rng = new RNG(seed);
  return tensor(Array.from({ length: shape.reduce((p, q) => p * q) }, () => rng.normal()), shape, { requiresGrad });
};

function withWasm(fn: () => void): void {
  const saved = getBackend();
  setBackend('wasm');
  try {
    fn();
  } finally {
    setBackend(saved);
  }
}

describe('tidy', () => {
  test('op outputs made inside are released and disposed; the returned tensor survives with its values', () => withWasm(() => {
    const x = rand([32, 64], 1);
    let inner: Tensor | null = null;
    const before = rt.stats().tensorBytes;
    const y = tidy(() => {
      inner = x.mul(2);
      return inner.sigmoid().sum(1);
    });
    assert.equal(rt.stats().tensorBytes - before, 4 * 32, 'only the result [32] is still allocated');
    assert.ok(inner!.isDisposed && !y.isDisposed && !x.isDisposed, "inner!.isDisposed && !y.isDisposed && !x.isDisposed");
    assert.throws(() => inner!.data, /Tensor\(shape=\[32, 64\], dtype=float32, disposed\) is disposed: its storage was released at the end of a tidy\(\) scope/);
    assert.throws(() => inner!.add(1), /is disposed/);
    // The result's values: the same computation outside any scope.
    assert.deepEqual(Array.from(y.data), Array.from(x.mul(2).sigmoid().sum(1).data));
  }));

  test("TF.js's tidy('name', fn) works the same; no function is a clear error", () => withWasm(() => {
    const x = rand([32, 64], 1);
    let inner: Tensor | null = null;
    const y = tidy('step', () => {
      inner = x.mul(2);
      return inner.sum(1);
    });
    assert.ok(inner!.isDisposed && !y.isDisposed, "inner!.isDisposed && !y.isDisposed");
    assert.deepEqual(Array.from(y.data), Array.from(x.mul(2).sum(1).data));
    assert.throws(() => tidy('step' as never), /^TypeError: tidy: expected a function, tidy\(fn\) or tidy\('name', fn\) \(got undefined\)$/);
  }));

  test('released blocks are reused at once by the next allocation of their size', () => withWasm(() => {
    const x = rand([64, 64], 2);
    let offset = -1;
    tidy(() => {
      offset = x.exp().data.byteOffset;
    });
    assert.equal(x.exp().data.byteOffset, offset);
  }));

  test('results in arrays and plain objects are kept, and so is the storage behind a returned view', () => withWasm(() => {
    const x = rand([16, 16], 3);
    let base: Tensor | null = null, dropped: Tensor | null = null;
    const out = tidy(() => {
      base = x.add(1);
      dropped = x.add(2).reshape(256);
      return { list: [x.mul(3)], nested: { view: base.reshape(256) } };
    });
    assert.ok(!out.list[0].isDisposed && !out.nested.view.isDisposed, "!out.list[0].isDisposed && !out.nested.view.isDisposed");
    assert.ok(!base!.isDisposed, 'the storage of a returned view is kept with its base');
    assert.ok(dropped!.isDisposed, 'a view of released storage is disposed too');
    assert.deepEqual(Array.from(out.nested.view.data), Array.from(x.data, (v) => Math.fround(v + 1)));
  }));

  test('nested scopes: what the inner one returns belongs to the outer one', () => withWasm(() => {
    const x = rand([16, 16], 4);
    let fromInner: Tensor | null = null;
    const kept = tidy(() => {
      fromInner = tidy(() => x.mul(2).add(1));
      assert.ok(!fromInner.isDisposed, "!fromInner.isDisposed");
      return fromInner.mul(2);
    });
    assert.ok(fromInner!.isDisposed, 'released at the end of the outer scope');
    assert.ok(!kept.isDisposed, "!kept.isDisposed");
  }));

  test('keep() protects a tensor; tensors made outside, detach() of them and parameters are never released', () => withWasm(() => {
    const outside = rand([16, 16], 5);
    const outsideOp = outside.mul(1);
    let k: Tensor | null = null, det: Tensor | null = null, det2: Tensor | null = null;
    let fc: Linear | null = null;
    let fromOp: Parameter | null = null;
    tidy(() => {
      k = keep(outside.add(5));
      det = outsideOp.detach();
      det2 = outside.mul(2).detach();
      fc = new Linear(16, 16, { rng: new RNG(0) });
      fc.forward(outside);
      fromOp = new Parameter(outside.mul(0.5)); // a weight made by an op: its storage is kept
    });
    assert.ok(!k!.isDisposed && !outside.isDisposed && !outsideOp.isDisposed && !det!.isDisposed, "!k!.isDisposed && !outside.isDisposed && !outsideOp.isDisposed && !det!.isDisposed");
    assert.ok(det2!.isDisposed, 'a detached view of a released output is disposed with it');
    assert.ok(!fc!.weight.isDisposed && !fc!.bias!.isDisposed, "!fc!.weight.isDisposed && !fc!.bias!.isDisposed");
    assert.deepEqual(Array.from(fromOp!.data), Array.from(outside.data, (v) => Math.fround(v * 0.5)));
    assert.equal(outside.mul(7).data.byteOffset === fromOp!.data.byteOffset, false, 'its block was not handed out again');
    assert.deepEqual(Array.from(k!.data), Array.from(outside.data, (v) => Math.fround(v + 5)));
  }));

  test('a tensor made inside (not an op output) is never released, even when a view of it (reshape, view, flatten, detach) is dropped', () => withWasm(() => {
    let made: Tensor | null = null;
    let views: Tensor[] = [];
    let computed: Tensor | null = null;
    tidy(() => {
      made = rand([32, 64], 8);
      views = [made.reshape(64, 32), made.view(2048), made.flatten(), made.detach()];
      computed = made.exp().reshape(2048); // a view of an op output: released with it
    });
    const expected = Array.from(rand([32, 64], 8).data);
    assert.ok(!made!.isDisposed && views.every((v) => !v.isDisposed), 'nothing the caller made is disposed');
    assert.ok(computed!.isDisposed, "computed!.isDisposed");
    for (let i = 0; i < 4; i++) rand([32, 64], 100 + i).exp(); // allocations that would reuse a released block
    assert.deepEqual(Array.from(made!.data), expected, 'its storage was not handed out again');
    assert.deepEqual(Array.from(views[0].data), expected);
  }));

  test('a throwing fn: its outputs are released, the error comes through, and later ops are not tracked', () => withWasm(() => {
    const x = rand([16, 16], 6);
    let made: Tensor | null = null;
    assert.throws(() => tidy(() => {
      made = x.add(1);
      throw new Error('boom');
    }), /boom/);
    assert.ok(made!.isDisposed, "made!.isDisposed");
    let after: Tensor | null = null;
    tidy(() => {
      after = x.add(1);
      return after;
    });
    assert.ok(!after!.isDisposed, "!after!.isDisposed");
    const free = x.add(2);
    tidy(() => x.add(3));
    assert.ok(!free.isDisposed, 'made outside every scope');
  }));

  test('returning a tensor\'s .data keeps that storage (it was released and reused by the next step, changing the caller\'s array)', () => withWasm(() => {
    const w = rand([64, 64], 21);
    const first = tidy(() => w.mul(2).sigmoid().data);
    const expected = Array.from(first);
    for (let k = 0; k < 3; k++) tidy(() => w.mul(-3 - k).sigmoid().data.length);
    assert.deepEqual(Array.from(first), expected);
  }));

  test('an async fn is refused (tidy and noGrad); backward after the scope names the problem', () => withWasm(() => {
    assert.throws(() => tidy(() => Promise.resolve(1)), /tidy: fn must be synchronous \(it returned a Promise\)/);
    // After its first await an async fn would record gradients again (audit: requiresGrad true).
    assert.throws(() => noGrad(async () => 1), /^TypeError: noGrad: fn must be synchronous \(it returned a Promise: after its first await, ops record gradients again\)/);
    const w = rand([16, 16], 7, true);
    const loss = tidy(() => w.mul(2).sigmoid().sum());
    assert.throws(() => loss.backward(), /SumBackward.*: an input of this op was released by tidy\(\) before backward\(\)/);
  }));

  test('training inside tidy gives bit-identical results, with the memory of a step back after each step', () => withWasm(() => {
    const build = (): Module => {
      const rng = new RNG(11);
      return new Sequential(new Linear(64, 32, { rng }), new BatchNorm1d(32), new Sigmoid(), new Linear(32, 16, { rng }));
    };
    const x = rand([48, 64], 12);
    const y = tensor(Array.from({ length: 48 }, (_, i) => (i * 7) % 16), [48], { dtype: 'int64' });
    const lossFn = new CrossEntropyLoss();
    const run = (useTidy: boolean, makeOpt: (m: Module) => SGD | Adam) => {
      const model = build();
      const opt = makeOpt(model);
      const losses: number[] = [];
      const bytes: number[] = [];
      for (let s = 0; s < 5; s++) {
        const step = () => {
          opt.zeroGrad();
          const loss = lossFn.forward(model.forward(x), y);
          loss.backward();
          opt.step();
          return loss.item();
        };
        losses.push(useTidy ? tidy(step) : step());
        bytes.push(rt.stats().tensorBytes);
      }
      const state = Object.values(model.stateDict()).map((t) => Array.from(t.data));
      return { losses, state, bytes, model };
    };
    for (const makeOpt of [(m: Module) => new SGD(m.parameters(), { lr: 0.1, momentum: 0.9 }), (m: Module) => new Adam(m.parameters(), { lr: 0.01 })]) {
      const plain = run(false, makeOpt);
      const tidied = run(true, makeOpt);
      assert.deepEqual(tidied.losses, plain.losses);
      assert.deepEqual(tidied.state, plain.state, 'weights, running statistics and counters');
      // From the second step on, a tidy step holds no more memory than the one before it.
      // (Not always equal: a block of the class may be served by a free one up to twice as large.)
      for (let s = 2; s < 5; s++) assert.ok(tidied.bytes[s] <= tidied.bytes[1], `step ${s}: ${tidied.bytes[s]} > ${tidied.bytes[1]}`);
      // The model still evaluates after the scopes (nothing it owns was released).
      tidied.model.eval();
      assert.ok(Number.isFinite(tidied.model.forward(x).sum().item()), "Number.isFinite(tidied.model.forward(x).sum().item())");
    }
  }));
});

describe('zeroGrad releases gradients nobody has read', () => {
  test('an unread gradient goes back to the allocator and its block serves the next backward', () => withWasm(() => {
    const w = rand([32, 32], 20, true);
    const x = rand([16, 32], 21);
    const opt = new SGD([w], { lr: 0.1 });
    x.matmul(w).sum().backward();
    const oldBlock = w.peekGrad()!.data.byteOffset;
    const block = rt.blockBytes(w.peekGrad()!.data); // 4 * 32 * 32, or a free block up to twice that
    assert.ok(block >= 4 * 32 * 32 && block <= 8 * 32 * 32, "block >= 4 * 32 * 32 && block <= 8 * 32 * 32");
    const before = rt.stats().tensorBytes;
    opt.zeroGrad();
    assert.equal(rt.stats().tensorBytes, before - block, 'released at once');
    const loss = x.matmul(w).sum();
    const afterForward = rt.stats().tensorBytes;
    loss.backward();
    assert.equal(rt.stats().tensorBytes, afterForward + rt.blockBytes(w.peekGrad()!.data));
    assert.equal(w.peekGrad()!.data.byteOffset, oldBlock, 'the next gradient took its block');
  }));

  test('a gradient read through .grad is left to the garbage collector and keeps its values', () => withWasm(() => {
    const w = rand([32, 32], 22, true);
    const x = rand([16, 32], 23);
    const opt = new SGD([w], { lr: 0.1 });
    x.matmul(w).sum().backward();
    const g = w.grad!;
    const copy = Array.from(g.data);
    opt.zeroGrad();
    assert.equal(w.grad, null);
    x.mul(3).matmul(w).sum().backward();
    assert.deepEqual(Array.from(g.data), copy, 'the old gradient was not recycled');
    assert.notEqual(w.grad!.data.byteOffset, g.data.byteOffset);
  }));

  test('Module.zeroGrad does the same; a gradient set by the caller is never released', () => withWasm(() => {
    const fc = new Linear(32, 16, { rng: new RNG(3) });
    const mine = rand([16, 32], 24);
    fc.weight.grad = mine;
    fc.zeroGrad();
    assert.equal(fc.weight.grad, null);
    assert.ok(!mine.isDisposed, "!mine.isDisposed");
    assert.ok(Number.isFinite(mine.sum().item()), "Number.isFinite(mine.sum().item())");
  }));
});
