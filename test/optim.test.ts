// Optimizer state: stateDict() / loadStateDict() under PyTorch's names, resuming exactly, and
// refusing what does not fit (nothing loaded then).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Adam, BatchNorm1d, CrossEntropyLoss, Linear, RNG, Sequential, SGD, Sigmoid, tensor, type Module, type Optimizer, type StateDict } from '../src/index.js';

function setup(seed: number): { model: Module; x: ReturnType<typeof tensor>; y: ReturnType<typeof tensor> } {
  const rng = new RNG(seed);
  const model = new Sequential(new Linear(6, 5, { rng }), new BatchNorm1d(5), new Sigmoid(), new Linear(5, 3, { rng }));
  const x = tensor(Array.from({ length: 8 * 6 }, () => rng.normal()), [8, 6]);
  const y = tensor(Array.from({ length: 8 }, (_, i) => i % 3), [8], { dtype: 'int64' });
  return { model, x, y };
}

function train(model: Module, opt: Optimizer, x: ReturnType<typeof tensor>, y: ReturnType<typeof tensor>, steps: number): void {
  const loss = new CrossEntropyLoss();
  for (let i = 0; i < steps; i++) {
    opt.zeroGrad();
    loss.forward(model.forward(x), y).backward();
    opt.step();
  }
}

const params = (m: Module) => m.parameters().map((p) => Array.from(p.data));
/** The per-parameter part of a state dict (the param_groups.* part is there from the start). */
const paramState = (sd: StateDict) => Object.fromEntries(Object.entries(sd).filter(([k]) => k.startsWith('state.')));
const hyper = (opt: Optimizer) => opt.paramGroups.map(({ params: _, ...h }) => h);

const OPTIMIZERS: [string, (m: Module) => Optimizer, string[]][] = [
  ['SGD with momentum', (m) => new SGD(m.parameters(), { lr: 0.1, momentum: 0.9, nesterov: true }), ['momentum_buffer']],
  ['Adam', (m) => new Adam(m.parameters(), { lr: 0.01, weightDecay: 1e-3 }), ['exp_avg', 'exp_avg_sq', 'step']],
];

for (const [name, make, names] of OPTIMIZERS) {
  describe(`${name}: stateDict / loadStateDict`, () => {
    test('keys and shapes as PyTorch (state.<i>.<name>, shaped like the parameter); empty before the first step', () => {
      const { model, x, y } = setup(1);
      const opt = make(model);
      assert.deepEqual(paramState(opt.stateDict()), {});
      train(model, opt, x, y, 1);
      const sd = paramState(opt.stateDict());
      const ps = model.parameters();
      assert.deepEqual(Object.keys(sd).sort(), ps.flatMap((_, i) => names.map((n) => `state.${i}.${n}`)).sort());
      ps.forEach((p, i) => {
        for (const n of names) {
          if (n === 'step') assert.equal(sd[`state.${i}.step`].item(), 1);
          else assert.deepEqual(sd[`state.${i}.${n}`].shape, p.shape);
        }
      });
    });

    test('a fresh optimizer loaded from the state continues exactly as the original', () => {
      const a = setup(2), b = setup(2);
      const optA = make(a.model), optB = make(b.model);
      train(a.model, optA, a.x, a.y, 3);
      train(b.model, optB, b.x, b.y, 3);
      const optC = make(b.model); // a new optimizer over the same (trained) parameters
      optC.loadStateDict(optB.stateDict());
      train(a.model, optA, a.x, a.y, 2);
      train(b.model, optC, b.x, b.y, 2);
      assert.deepEqual(params(b.model), params(a.model));
      // Without the state the continuation differs (the test can tell).
      const c = setup(2);
      const optD = make(c.model);
      train(c.model, optD, c.x, c.y, 3);
      train(c.model, make(c.model), c.x, c.y, 2);
      assert.notDeepEqual(params(c.model), params(a.model));
    });

    test("the groups' hyperparameters are saved and loaded, as PyTorch's param_groups (a lowered lr comes back)", () => {
      const { model, x, y } = setup(5);
      const opt = make(model);
      train(model, opt, x, y, 1);
      for (const g of opt.paramGroups) g.lr *= 0.1;
      const sd = opt.stateDict();
      assert.deepEqual(sd['param_groups.0.params'].toArray(), [0, 1, 2, 3, 4, 5]);
      assert.equal(sd['param_groups.0.params'].dtype, 'int64');
      assert.equal(sd['param_groups.0.lr'].item(), hyper(opt)[0].lr);
      const fresh = make(model);
      assert.notDeepEqual(hyper(fresh), hyper(opt));
      fresh.loadStateDict(sd);
      assert.deepEqual(hyper(fresh), hyper(opt));
      // A state saved without param_groups (before they were written) keeps the optimizer's own.
      const own = make(model);
      own.loadStateDict(paramState(sd));
      assert.deepEqual(hyper(own), hyper(make(model)));
      assert.deepEqual(paramState(own.stateDict()), paramState(sd));
      // PyTorch's implementation flags load and change nothing; its variants load when off.
      const flags = Object.fromEntries(['foreach', 'capturable', 'differentiable', 'fused', 'initial_lr', 'maximize', 'amsgrad']
        .map((k) => [`param_groups.0.${k}`, tensor([k === 'initial_lr' ? 0.5 : 0], [], { dtype: 'float64' })]));
      const withFlags = make(model);
      withFlags.loadStateDict({ ...sd, ...flags });
      assert.deepEqual(hyper(withFlags), hyper(opt));
    });

    test('stateDict copies: changing it does not change the optimizer', () => {
      const { model, x, y } = setup(3);
      const opt = make(model);
      train(model, opt, x, y, 1);
      const sd = opt.stateDict();
      const key = `state.0.${names[0]}`;
      const before = Array.from(sd[key].data);
      sd[key].data.fill(123);
      assert.deepEqual(Array.from(opt.stateDict()[key].data), before);
    });

    test('bad state is refused with a clear error and nothing is loaded', () => {
      const { model, x, y } = setup(4);
      const opt = make(model);
      train(model, opt, x, y, 1);
      const good = opt.stateDict();
      const target = make(model);
      const bad = (edit: (sd: typeof good) => void, message: RegExp) => {
        const sd = { ...good };
        edit(sd);
        assert.throws(() => target.loadStateDict(sd), message);
        assert.deepEqual(paramState(target.stateDict()), {}, 'nothing loaded');
        assert.deepEqual(hyper(target), hyper(make(model)), 'no hyperparameter loaded');
      };
      const lowered = (sd: typeof good) => { sd['param_groups.0.lr'] = tensor([1e-4], [], { dtype: 'float64' }); };
      bad((sd) => { lowered(sd); sd['state.0.nonsense'] = good[`state.0.${names[0]}`]; }, /unexpected key 'state.0.nonsense'/);
      bad((sd) => { lowered(sd); sd['param_groups.1.lr'] = good['param_groups.0.lr']; }, /loaded state dict has a different number of parameter groups \(2; the optimizer has 1\)/);
      bad((sd) => { lowered(sd); sd['param_groups.0.params'] = tensor([0, 1, 2, 3, 4], [5], { dtype: 'int64' }); }, /contains a parameter group that doesn't match the size of optimizer's group \('param_groups\.0\.params' should be the indices \[0, 1, 2, 3, 4, 5\], got 0,1,2,3,4\)/);
      bad((sd) => { lowered(sd); delete sd['param_groups.0.weight_decay']; }, /'param_groups\.0\.weight_decay' is missing/);
      bad((sd) => { sd['param_groups.0.lr'] = tensor([-1], [], { dtype: 'float64' }); }, /\(parameter group 0\): Invalid learning rate value: -1/);
      bad((sd) => { lowered(sd); sd['param_groups.0.lr'] = tensor([0.1, 0.2]); }, /'param_groups\.0\.lr' should have shape \[\] \(got \[2\]\)/);
      bad((sd) => { lowered(sd); sd['param_groups.0.maximize'] = tensor([1], [], { dtype: 'float64' }); }, /unexpected key 'param_groups\.0\.maximize' \(maximize is not supported: it must be 0\)/);
      bad((sd) => { lowered(sd); sd['param_groups.0.momentun'] = tensor([1], [], { dtype: 'float64' }); }, /unexpected key 'param_groups\.0\.momentun' \(\w+'s hyperparameters are params, lr, /);
      bad((sd) => { sd['state.0.nonsense'] = good[`state.0.${names[0]}`]; }, /unexpected key 'state.0.nonsense'/);
      bad((sd) => { sd[`state.99.${names[0]}`] = good[`state.0.${names[0]}`]; }, /names parameter 99, the optimizer has 6/);
      bad((sd) => { sd[`state.1.${names[0]}`] = tensor([1, 2, 3]); }, /'state.1.\w+' has shape \[3\], parameter 1 has shape \[5\]/);
      if (names.length > 1) bad((sd) => { delete sd['state.2.exp_avg_sq']; }, /state.2 lacks exp_avg_sq/);
      // The same size in another shape (PyTorch 1.13 loads it, then step() fails on the shapes).
      bad((sd) => { sd[`state.0.${names[0]}`] = good[`state.0.${names[0]}`].reshape([6, 5]); }, /'state\.0\.\w+' has shape \[6, 5\], parameter 0 has shape \[5, 6\]/);
      // Two spellings of one index: the last would win.
      bad((sd) => { sd[`state.00.${names[0]}`] = good[`state.0.${names[0]}`]; }, /unexpected key 'state\.00\./);
      bad((sd) => { sd[`state.0.${names[0]}`] = [1, 2] as never; }, /'state\.0\.\w+' should be a Tensor \(got Array\)/);
    });
  });
}

test('an option given as undefined takes the default, in a parameter group too (as the types allow: wrappers forward optional arguments)', () => {
  const { model } = setup(6);
  const [a, b] = [model.parameters().slice(0, 2), model.parameters().slice(2)];
  const opt = new SGD([{ params: a, weightDecay: undefined, momentum: undefined }, { params: b, lr: undefined }], { lr: 0.1, momentum: 0.9, weightDecay: undefined });
  assert.deepEqual(opt.paramGroups.map(({ params: _, ...h }) => h), [
    { lr: 0.1, momentum: 0.9, dampening: 0, weightDecay: 0, nesterov: false },
    { lr: 0.1, momentum: 0.9, dampening: 0, weightDecay: 0, nesterov: false },
  ]);
  const adam = new Adam([{ params: a, betas: undefined }], { lr: undefined, eps: undefined });
  assert.deepEqual(adam.paramGroups.map(({ params: _, ...h }) => h), [{ lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0 }]);
});
