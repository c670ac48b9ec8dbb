// Module structure: PyTorch state-dict keys from the module tree, recursive train/eval,
// loadStateDict that checks everything before changing anything; the seeded RNG.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { inspect } from 'node:util';
import { Adam, BatchNorm1d, BatchNorm2d, batchNorm, conv2d, crossEntropy, CrossEntropyLoss, exportOnnx, freezeBatchNorm, full, Linear, loadMnist, manualSeed, Module, ModuleList, ones, Parameter, rand, randn, ReLU, RNG, Sequential, SGD, Sigmoid, tensor, Tensor, zeros, type StateDict } from '../src/index.js';

class Net extends Module {
  features = new Sequential(new Linear(4, 3), new BatchNorm1d(3), new ReLU());
  head = new Linear(3, 2);
  forward(x: Tensor): Tensor {
    return this.head.forward(this.features.forward(x));
  }
}

describe('Module', () => {
  test('state dict keys are PyTorch\'s, derived from the tree and field names', () => {
    assert.deepEqual(Object.keys(new Net().stateDict()), [
      'features.0.weight', 'features.0.bias',
      'features.1.weight', 'features.1.bias', 'features.1.running_mean', 'features.1.running_var', 'features.1.num_batches_tracked',
      'head.weight', 'head.bias',
    ]);
    assert.deepEqual(new Net().namedParameters().map(([k]) => k), ['features.0.weight', 'features.0.bias', 'features.1.weight', 'features.1.bias', 'head.weight', 'head.bias']);
    const seq = new Sequential(...Array.from({ length: 12 }, () => new Sigmoid()), new Linear(1, 1));
    assert.deepEqual(Object.keys(seq.stateDict()), ['12.weight', '12.bias']);
  });

  test('train() and eval() are recursive and per model', () => {
    const a = new Net();
    const b = new Net();
    a.eval();
    assert.ok(a.modules().every((m) => !m.training), "a.modules().every((m) => !m.training)");
    assert.ok(b.modules().every((m) => m.training), 'another model is untouched');
    a.train();
    assert.ok(a.modules().every((m) => m.training), "a.modules().every((m) => m.training)");
  });

  test('parameters, zeroGrad', () => {
    const net = new Net();
    assert.equal(net.parameters().length, 6);
    net.forward(randn([5, 4])).sum().backward();
    assert.ok(net.parameters().every((p) => p.grad !== null), "net.parameters().every((p) => p.grad !== null)");
    net.zeroGrad();
    assert.ok(net.parameters().every((p) => p.grad === null), "net.parameters().every((p) => p.grad === null)");
  });

  test('loadStateDict round-trips and copies values (not references)', () => {
    const src = new Net();
    src.forward(randn([8, 4]));
    const dst = new Net();
    dst.loadStateDict(src.stateDict());
    for (const [k, v] of Object.entries(src.stateDict())) assert.deepEqual(Array.from(dst.stateDict()[k].data), Array.from(v.data), k);
    assert.notEqual(dst.stateDict()['head.weight'].data, src.stateDict()['head.weight'].data);
    src.eval();
    dst.eval();
    const x = randn([3, 4]);
    assert.deepEqual(Array.from(dst.forward(x).data), Array.from(src.forward(x).data));
  });

  test('BatchNorm refuses running statistics that would make every output NaN, and nothing is loaded', () => {
    const net = new Sequential(new Linear(2, 2), new BatchNorm1d(2));
    const before = JSON.stringify(Object.entries(net.stateDict()).map(([k, t]) => [k, Array.from(t.data)]));
    const sd = { ...new Sequential(new Linear(2, 2, { rng: new RNG(1) }), new BatchNorm1d(2)).stateDict() };
    sd['1.running_var'] = tensor([1, -0.5]);
    sd['1.running_mean'] = tensor([0, Infinity]);
    assert.throws(() => net.loadStateDict(sd), (e: Error) => {
      assert.match(e.message, /Error\(s\) in loading state_dict for Sequential/);
      assert.match(e.message, /invalid value for 1\.running_mean: running_mean must be finite \(got Infinity at channel 1\)/);
      assert.match(e.message, /invalid value for 1\.running_var: running_var must be non-negative \(got -0\.5 at channel 1\)/);
      return true;
    });
    assert.equal(JSON.stringify(Object.entries(net.stateDict()).map(([k, t]) => [k, Array.from(t.data)])), before);
    sd['1.running_var'] = tensor([1, NaN]);
    sd['1.running_mean'] = tensor([0, 0]);
    assert.throws(() => net.loadStateDict(sd), /running_var must be finite \(got NaN at channel 1\)/);
    sd['1.running_var'] = tensor([0, 2]); // a zero variance is legitimate (a constant channel): eps keeps it finite
    net.loadStateDict(sd);
    assert.deepEqual(Array.from(net.eval().forward(tensor([[1, 2]])).data).map(Number.isFinite), [true, true]);
  });
  test('strict loading names missing and unexpected keys and size mismatches, and loads nothing on error', () => {
    const net = new Net();
    const before = Array.from(net.head.weight.data);
    const sd = { ...new Net().stateDict() };
    delete sd['features.1.running_var'];
    sd['extra.weight'] = tensor([1]);
    sd['head.weight'] = tensor([[1, 2, 3]]);
    assert.throws(() => net.loadStateDict(sd), (e: Error) => {
      assert.match(e.message, /Error\(s\) in loading state_dict for Net/);
      assert.match(e.message, /Missing key\(s\) in state_dict: "features.1.running_var"/);
      assert.match(e.message, /Unexpected key\(s\) in state_dict: "extra.weight"/);
      assert.match(e.message, /size mismatch for head.weight: copying a param with shape \[1, 3\] from checkpoint, the shape in current model is \[2, 3\]/);
      return true;
    });
    assert.deepEqual(Array.from(net.head.weight.data), before);
    delete sd['extra.weight'];
    sd['head.weight'] = tensor(new Float32Array(6).fill(0.5), [2, 3]);
    const r = net.loadStateDict(sd, { strict: false });
    assert.deepEqual(r.missingKeys, ['features.1.running_var']);
    assert.deepEqual(Array.from(net.head.weight.data), [0.5, 0.5, 0.5, 0.5, 0.5, 0.5]);
    assert.throws(() => net.loadStateDict(undefined as unknown as StateDict), /^TypeError: Expected state_dict to be dict-like, got undefined\.$/);
    assert.throws(() => net.loadStateDict([] as unknown as StateDict), /Expected state_dict to be dict-like, got Array\./);
  });

  test('a key holding null or a non-tensor is an error, not a skipped key; a float count into num_batches_tracked must hold an integer', () => {
    const net = new Net();
    const before = Array.from(net.head.bias!.data);
    for (const bad of [null, undefined, [1, 2]]) {
      const sd = { ...new Net().stateDict(), 'head.bias': bad as unknown as Tensor };
      for (const strict of [true, false]) {
        assert.throws(() => net.loadStateDict(sd, { strict }), /While copying the parameter named "head.bias", expected Tensor from checkpoint but received (null|undefined|Array)\./);
      }
    }
    assert.deepEqual(Array.from(net.head.bias!.data), before, 'nothing loaded');
    const counted = { ...new Net().stateDict(), 'features.1.num_batches_tracked': tensor(2) };
    net.loadStateDict(counted);
    assert.equal(net.stateDict()['features.1.num_batches_tracked'].item(), 2);
    // PyTorch's copy_ truncates 2.5 to 2 and takes -1; a count is a non-negative integer (a
    // negative one makes momentum: null's next average 1/0: statistics Infinity and NaN).
    for (const bad of [2.5, -1]) {
      counted['features.1.num_batches_tracked'] = tensor(bad);
      assert.throws(() => net.loadStateDict(counted), new RegExp(`invalid value for features\\.1\\.num_batches_tracked: num_batches_tracked must be a non-negative integer \\(got ${bad}\\)\\.$`));
      counted['features.1.num_batches_tracked'] = tensor([bad], [], { dtype: 'int64' });
      assert.throws(() => net.loadStateDict(counted), /num_batches_tracked must be a non-negative integer/);
    }
    assert.equal(net.stateDict()['features.1.num_batches_tracked'].item(), 2);
    counted['features.1.num_batches_tracked'] = tensor(NaN);
    assert.throws(() => net.loadStateDict(counted), /invalid value for features.1.num_batches_tracked: an int64 cannot hold NaN/);
    assert.equal(net.stateDict()['features.1.num_batches_tracked'].item(), 2);
  });

  test('a NaN or an infinity in any float parameter or buffer is refused, naming the tensor and the first bad element; nothing is copied', () => {
    // PyTorch 1.13 loads these silently (Linear(4, 3).load_state_dict({'weight': ...nan...}) -> <All keys matched>).
    const net = new Net();
    const before = JSON.stringify(Object.entries(net.stateDict()).map(([k, t]) => [k, Array.from(t.data)]));
    const sd = { ...new Net().stateDict() };
    const w = sd['features.0.weight'].clone();
    w.data[1 * 4 + 2] = NaN;
    w.data[2 * 4 + 3] = Infinity;
    const b = sd['head.bias'].clone();
    b.data[1] = -Infinity;
    const gamma = sd['features.1.weight'].clone();
    gamma.data[0] = NaN;
    assert.throws(() => net.loadStateDict({ ...sd, 'features.0.weight': w, 'head.bias': b, 'features.1.weight': gamma }), (err: Error) => {
      assert.match(err.message, /invalid value for features\.0\.weight: NaN at \[1, 2\]; parameters and buffers must be finite\./);
      assert.match(err.message, /invalid value for features\.1\.weight: NaN at \[0\]; parameters and buffers must be finite\./);
      assert.match(err.message, /invalid value for head\.bias: -Infinity at \[1\]; parameters and buffers must be finite\./);
      return true;
    });
    assert.equal(JSON.stringify(Object.entries(net.stateDict()).map(([k, t]) => [k, Array.from(t.data)])), before, 'nothing loaded');
    // BatchNorm statistics keep their own message (one per key, not two).
    const stats = sd['features.1.running_var'].clone();
    stats.data[2] = NaN;
    assert.throws(() => net.loadStateDict({ ...sd, 'features.1.running_var': stats }), /^Error: Error\(s\) in loading state_dict for Net:\n\tinvalid value for features\.1\.running_var: running_var must be finite \(got NaN at channel 2\)\.$/);
  });

  test('a state dict without num_batches_tracked loads, as in PyTorch (unversioned dicts: older checkpoints, safetensors)', () => {
    // PyTorch 1.13: BatchNorm1d(3).load_state_dict({without num_batches_tracked}) -> <All keys matched successfully>;
    // the counter keeps its value as in PyTorch >= 2.2 (1.13 resets it to 0: pytorch/pytorch#110850).
    const net = new Net();
    const bn = net.features[1] as BatchNorm1d;
    bn.forward(randn([4, 3], { rng: new RNG(1) }));
    const source = new Net();
    (source.features[1] as BatchNorm1d).runningMean.data.fill(0.25);
    const sd = { ...source.stateDict() };
    delete sd['features.1.num_batches_tracked'];
    assert.deepEqual(net.loadStateDict(sd), { missingKeys: [], unexpectedKeys: [] });
    assert.deepEqual(Array.from(bn.runningMean.data), [0.25, 0.25, 0.25]);
    assert.equal(bn.numBatchesTracked.item(), 1, 'the counter keeps its value');
    delete sd['features.1.running_mean'];
    assert.throws(() => net.loadStateDict(sd), /Missing key\(s\) in state_dict: "features.1.running_mean"\.$/, 'only the counter is optional');
  });

  test('apply visits children first, then the module itself (PyTorch order), and returns the module', () => {
    const net = new Net();
    const seen: string[] = [];
    assert.equal(net.apply((m) => seen.push(m.constructor.name)), net);
    assert.deepEqual(seen, ['Linear', 'BatchNorm1d', 'ReLU', 'Sequential', 'Linear', 'Net']);
    net.apply((m) => {
      if (m instanceof BatchNorm1d) m.weight!.data.fill(0.5);
    });
    assert.deepEqual(Array.from(net.stateDict()['features.1.weight'].data), [0.5, 0.5, 0.5]);
  });

  test("custom modules: keys are PyTorch's for the same field names (camelCase fields in snake_case, other names as they are)", () => {
    // class M(nn.Module): W = Parameter; pos_embed = Parameter; fc_in = Linear(2, 2); conv1 = Linear(2, 1)
    // -> state_dict keys ['W', 'pos_embed', 'fc_in.weight', 'fc_in.bias', 'conv1.weight', 'conv1.bias']
    class M extends Module {
      W = new Parameter(zeros(2));
      posEmbed = new Parameter(zeros(2));
      fcIn = new Linear(2, 2);
      conv1 = new Linear(2, 1);
      forward(x: Tensor): Tensor {
        return this.conv1.forward(this.fcIn.forward(x.add(this.W).add(this.posEmbed)));
      }
    }
    const m = new M();
    assert.deepEqual(Object.keys(m.stateDict()), ['W', 'pos_embed', 'fc_in.weight', 'fc_in.bias', 'conv1.weight', 'conv1.bias']);
    assert.deepEqual(m.namedChildren().map(([k]) => k), ['fc_in', 'conv1']);
    assert.match(String(m), /^M\(\n  \(fc_in\): Linear\(inFeatures=2, outFeatures=2, bias=true\)\n/);
  });

  test('ModuleList holds modules as children 0, 1, ... (nn.ModuleList); a plain array of modules is refused, not silently left untrained', () => {
    class Tower extends Module {
      blocks = new ModuleList([new Linear(3, 3), new BatchNorm1d(3)]);
      forward(x: Tensor): Tensor {
        for (const block of this.blocks) x = block.forward(x);
        return x;
      }
    }
    const t = new Tower();
    t.blocks.append(new Linear(3, 1));
    assert.deepEqual(Object.keys(t.stateDict()), [
      'blocks.0.weight', 'blocks.0.bias', 'blocks.1.weight', 'blocks.1.bias', 'blocks.1.running_mean', 'blocks.1.running_var', 'blocks.1.num_batches_tracked',
      'blocks.2.weight', 'blocks.2.bias',
    ]);
    assert.equal(t.parameters().length, 6);
    assert.deepEqual([t.blocks.length, t.blocks.at(-1) instanceof Linear, t.eval().blocks[1].training], [3, true, false]);
    assert.deepEqual(t.forward(randn(2, 3, { rng: new RNG(1) })).shape, [2, 1]);
    assert.match(String(t), /^Tower\(\n  \(blocks\): ModuleList\(\n    \(0\): Linear/);
    assert.throws(() => t.blocks.forward(zeros(1)), /^Error: Module \[ModuleList\] is missing the required "forward" function/);
    assert.throws(() => new ModuleList(new Linear(1, 1) as never), /^TypeError: ModuleList: expected an iterable of modules, e\.g\. new ModuleList\(\[a, b\]\) \(got Linear\)/);
    assert.throws(() => new ModuleList([new Linear(1, 1), 3 as never]), /ModuleList: argument 1 is not a Module \(got number\)/);
    assert.throws(() => new Sequential(new Linear(1, 1), [new ReLU()] as never), /Sequential: argument 1 is not a Module \(got Array\)/);
    class Plain extends Module {
      hiddenLayers = [new Linear(3, 3), new Linear(3, 3)];
      forward(x: Tensor): Tensor {
        return x;
      }
    }
    assert.throws(() => new Plain().parameters(), /^TypeError: Plain\.hiddenLayers is an array of modules: their parameters would be neither trained nor saved; hold them in a ModuleList \(new ModuleList\(\[\.\.\.\]\), keys 'hidden_layers\.0\.weight', \.\.\.\) or a Sequential$/);
  });

  test('loadStateDict: own keys only (a key named constructor is unexpected), any Map, and values a float32 model cannot hold are refused', () => {
    const bn = new BatchNorm1d(2);
    const sd = bn.stateDict();
    assert.throws(() => bn.loadStateDict({ ...sd, constructor: zeros(1), toString: zeros(1) }), /Unexpected key\(s\) in state_dict: "constructor", "toString"\./);
    assert.deepEqual(bn.loadStateDict({ constructor: zeros(1) }, { strict: false }).unexpectedKeys, ['constructor']);
    const source = new BatchNorm1d(2);
    source.runningMean!.data.set([0.5, -0.5]);
    assert.deepEqual(bn.loadStateDict(new Map(Object.entries(source.stateDict()))), { missingKeys: [], unexpectedKeys: [] });
    assert.deepEqual(Array.from(bn.runningMean!.data), [0.5, -0.5]);
    const huge = { ...sd, running_var: tensor([1, 1e39], { dtype: 'float64' }), weight: tensor([3.5e38, 1], { dtype: 'float64' }) };
    assert.throws(() => bn.loadStateDict(huge), /invalid value for weight: 3\.5e\+38 is beyond float32's range \(the model is float32\)\.\n\tinvalid value for running_var: 1e\+39 is beyond/);
    assert.deepEqual([Array.from(bn.runningVar!.data), Array.from(bn.weight!.data)], [[1, 1], [1, 1]], 'nothing loaded');
    assert.doesNotThrow(() => new BatchNorm1d(2, { dtype: 'float64' }).loadStateDict(huge), 'a float64 model holds them');
  });

  test('Sequential: for-of over its layers, at(-1) from the end, out of range named (PyTorch: model[-1], iteration, IndexError)', () => {
    const layers = [new Linear(4, 3), new BatchNorm1d(3), new ReLU()];
    const seq = new Sequential(...layers);
    assert.deepEqual([...seq], layers);
    assert.equal(seq.at(-1), layers[2]);
    assert.equal(seq.at(0), layers[0]);
    assert.equal(seq.at(-3), layers[0]);
    assert.throws(() => seq.at(3), /^RangeError: index 3 is out of range$/);
    assert.throws(() => seq.at(-4), /index -4 is out of range/);
    assert.deepEqual(Object.keys(seq.stateDict()).length, 7, 'the iterator adds no state');
  });

  test('constructor arguments: sizes, dtype, and options objects with only known keys (a positional eps or weight_decay would be ignored silently)', () => {
    assert.throws(() => new BatchNorm1d('3' as never), /^RangeError: BatchNorm1d: numFeatures must be a positive integer \(got '3'\)$/);
    assert.throws(() => new BatchNorm2d(3, { dtype: 'int64' as never }), /^TypeError: BatchNorm2d: dtype must be 'float32' or 'float64' \(got 'int64'\)$/);
    assert.throws(() => new BatchNorm1d(3, 1e-3 as never), /^TypeError: BatchNorm1d: options must be an object such as \{ eps: \.\.\. \} \(got number 0\.001\)$/);
    assert.throws(() => new BatchNorm1d(3, { epsilon: 1e-3 } as never), /^TypeError: BatchNorm1d: unknown option 'epsilon'; the options are 'eps', 'momentum', 'affine', 'trackRunningStats', 'channelsLast', 'dtype'$/);
    assert.throws(() => new BatchNorm1d(3, { track_running_stats: false } as never), /unknown option 'track_running_stats' \(did you mean 'trackRunningStats'\?\)/);
    const bn = new BatchNorm1d(3);
    assert.throws(() => { bn.momentum = '0.1' as never; bn.forward(randn([4, 3])); }, /BatchNorm1d: momentum must be in \[0, 1\] or null \(got '0.1'\)/);
    assert.throws(() => new Linear(4, 0), /^RangeError: Linear: outFeatures must be a positive integer \(got 0\)$/);
    assert.throws(() => new Linear(4, 2, { dtype: 'int64' as never }), /Linear: dtype must be 'float32' or 'float64' \(got 'int64'\)/);
    assert.throws(() => new Linear(4, 2, { bias: false, seed: 1 } as never), /Linear: unknown option 'seed'; the options are 'bias', 'rng', 'dtype'/);
    const params = new Linear(4, 2).parameters();
    assert.throws(() => new SGD(params, { lr: 0.1, weight_decay: 1e-4 } as never), /^TypeError: SGD: unknown option 'weight_decay' \(did you mean 'weightDecay'\?\); the options are 'lr', 'momentum', 'dampening', 'weightDecay', 'nesterov'$/);
    assert.throws(() => new Adam(params, { learningRate: 1e-3 } as never), /Adam: unknown option 'learningRate'/);
    assert.throws(() => new SGD([{ params: [params[0]], weight_decay: 0 }, { params: [params[1]] }] as never, { lr: 0.1 }), /^TypeError: SGD \(parameter group 0\): unknown option 'weight_decay' \(did you mean 'weightDecay'\?\)/);
  });

  test("functions' options objects take only known keys too (requires_grad: true would leave a tensor without gradients)", () => {
    assert.throws(() => tensor([1, 2], { requires_grad: true } as never), /^TypeError: tensor\(\): unknown option 'requires_grad' \(did you mean 'requiresGrad'\?\); the options are 'dtype', 'requiresGrad'$/);
    assert.throws(() => tensor([1, 2, 3, 4], [2, 2], { shape: [2, 2] } as never), /tensor\(\): unknown option 'shape'/);
    assert.throws(() => zeros(2, 3, { requires_grad: true } as never), /^TypeError: zeros\(\): unknown option 'requires_grad' \(did you mean 'requiresGrad'\?\)/);
    assert.throws(() => ones([2], { device: 'cpu' } as never), /ones\(\): unknown option 'device'/);
    assert.throws(() => full([2], 1, { dtyp: 'float64' } as never), /full\(\): unknown option 'dtyp'/);
    assert.throws(() => randn(2, { seed: 1 } as never), /^TypeError: randn\(\): unknown option 'seed'; the options are 'dtype', 'requiresGrad', 'rng'$/);
    assert.throws(() => rand(2, { min: 0 } as never), /rand\(\): unknown option 'min'; the options are 'dtype', 'requiresGrad', 'rng', 'low', 'high'/);
    const rng = new RNG(3);
    const r = rand([2, 3], { rng, low: 2, high: 3, dtype: 'float64', requiresGrad: true });
    assert.deepEqual([r.dtype, r.requiresGrad, r.data.every((v) => v >= 2 && v < 3)], ['float64', true, true]);
    const x = randn([4, 3], { rng });
    assert.throws(() => batchNorm(x, { training: true, running_mean: zeros(3) } as never), /^TypeError: batch_norm: unknown option 'running_mean' \(did you mean 'runningMean'\?\)/);
    assert.throws(() => conv2d(randn([1, 1, 3, 3], { rng }), randn([1, 1, 2, 2], { rng }), null, { groups: 1 } as never), /conv2d: unknown option 'groups'; the options are 'stride', 'padding', 'dilation'/);
    assert.throws(() => crossEntropy(x, [0, 1, 2, 0], { label_smoothing: 0.1 } as never), /cross_entropy: unknown option 'label_smoothing' \(did you mean 'labelSmoothing'\?\)/);
    assert.throws(() => new CrossEntropyLoss({ label_smoothing: 0.1 } as never), /CrossEntropyLoss: unknown option 'label_smoothing'/);
    const bn = new BatchNorm1d(3);
    assert.throws(() => bn.loadStateDict(bn.stateDict(), { strictly: false } as never), /loadStateDict: unknown option 'strictly'; the options are 'strict'/);
    assert.throws(() => freezeBatchNorm(bn, { affline: true } as never), /freezeBatchNorm: unknown option 'affline'/);
    assert.throws(() => bn.freeze({ afine: true } as never), /freeze: unknown option 'afine'/);
    assert.equal(bn.frozen, false, 'nothing frozen by a refused call');
    assert.throws(() => exportOnnx(bn.eval(), [2, 3], { opset: 17 } as never), /exportOnnx: unknown option 'opset'; the options are 'fold', 'dynamicBatch', 'inputName', 'outputName', 'docString'/);
    assert.throws(() => loadMnist({ dir: '/tmp' } as never), /loadMnist: unknown option 'dir'; the options are 'dataset', 'dataDir', 'limit'/);
  });

  test('toString and console.log print the module tree as print(model) does in PyTorch', () => {
    const expected = [
      'Net(',
      '  (features): Sequential(',
      '    (0): Linear(inFeatures=4, outFeatures=3, bias=true)',
      '    (1): BatchNorm1d(3, eps=0.00001, momentum=0.1, affine=true, trackRunningStats=true)',
      '    (2): ReLU()',
      '  )',
      '  (head): Linear(inFeatures=3, outFeatures=2, bias=true)',
      ')',
    ].join('\n');
    assert.equal(String(new Net()), expected);
    assert.equal(inspect(new Net()), expected);
  });

  test('BatchNorm2d inside a model is found by parameters() and stateDict()', () => {
    class Conv extends Module {
      bn = new BatchNorm2d(2);
      forward(x: Tensor): Tensor { return this.bn.forward(x); }
    }
    assert.deepEqual(Object.keys(new Conv().stateDict()), ['bn.weight', 'bn.bias', 'bn.running_mean', 'bn.running_var', 'bn.num_batches_tracked']);
  });
});

describe('RNG', () => {
  test('same seed, same numbers; different seeds differ', () => {
    const a = new RNG(42);
    const b = new RNG(42);
    const xs = Array.from({ length: 5 }, () => a.uniform());
    assert.deepEqual(Array.from({ length: 5 }, () => b.uniform()), xs);
    assert.notDeepEqual(Array.from({ length: 5 }, () => new RNG(43).uniform()), xs);
    manualSeed(5);
    const r1 = Array.from(randn([4]).data);
    manualSeed(5);
    assert.deepEqual(Array.from(randn([4]).data), r1);
  });
  test('normal draws have mean ~0 and variance ~1; shuffle is a permutation', () => {
    const rng = new RNG(1);
    const n = 200000;
    let s = 0;
    let sq = 0;
    for (let i = 0; i < n; i++) {
      const z = rng.normal();
      s += z;
      sq += z * z;
    }
    // 5 standard errors: 5/sqrt(n) for the mean, 5*sqrt(2/n) for the variance.
    assert.ok(Math.abs(s / n) < 5 / Math.sqrt(n), `mean ${s / n}`);
    assert.ok(Math.abs(sq / n - 1) < 5 * Math.sqrt(2 / n), `variance ${sq / n}`);
    const perm = rng.shuffle(Array.from({ length: 50 }, (_, i) => i));
    assert.deepEqual([...perm].sort((x, y) => x - y), Array.from({ length: 50 }, (_, i) => i));
  });
});

describe('Module.to(dtype)', () => {
  test('converts parameters in place (same objects), float buffers and gradients; num_batches_tracked stays int64', () => {
    const net = new Net();
    net.forward(randn([5, 4], { rng: new RNG(1) })).sum().backward();
    const before = net.stateDict();
    const values = Object.fromEntries(Object.entries(before).map(([k, t]) => [k, Array.from(t.data)]));
    const params = net.parameters();
    assert.equal(net.double(), net);
    assert.deepEqual(net.parameters(), params, 'the same Parameter objects');
    for (const [k, t] of Object.entries(net.stateDict())) {
      assert.equal(t.dtype, k.endsWith('num_batches_tracked') ? 'int64' : 'float64', k);
      assert.deepEqual(Array.from(t.data), values[k], `${k}: float32 -> float64 is exact`);
    }
    assert.ok(params.every((p) => p.grad!.dtype === 'float64'), 'gradients converted with their parameters');
    net.float();
    assert.ok(Object.entries(net.stateDict()).every(([k, t]) => t.dtype === (k.endsWith('num_batches_tracked') ? 'int64' : 'float32')), "Object.entries(net.stateDict()).every(([k, t]) => t.dtype === (k.endsWith('num_batches_tracked') ? 'int64' : 'float32'))");
    assert.throws(() => net.to('int64' as never), /nn.Module.to only accepts floating point dtypes .* but got desired dtype='int64'/);
  });

  const optimizers: [string, (params: Parameter[]) => SGD | Adam][] = [
    ['SGD with momentum', (params) => new SGD(params, { lr: 0.1, momentum: 0.9 })],
    ['Adam', (params) => new Adam(params, { lr: 0.01 })],
  ];
  for (const [name, makeOptimizer] of optimizers) {
    test(`${name} made before double() trains on: its state is converted, as if rebuilt in float64 from its state dict`, () => {
      const rng = new RNG(3);
      const x = randn([8, 4], { rng });
      const target = randn([8, 2], { rng });
      const step = (model: Module, opt: SGD | Adam) => {
        const dtype = model.parameters()[0].dtype;
        opt.zeroGrad();
        model.forward(x.to(dtype)).sub(target.to(dtype)).pow(2).mean().backward();
        opt.step();
      };
      manualSeed(7);
      const a = new Net();
      const optA = makeOptimizer(a.parameters());
      step(a, optA);
      step(a, optA);
      // The other route: a float64 net built separately, loading a's weights and optimizer state.
      const b = new Net().double();
      b.loadStateDict(a.stateDict());
      const optB = makeOptimizer(b.parameters());
      optB.loadStateDict(optA.stateDict());
      a.double();
      const notFloat64 = Object.entries(optA.stateDict()).filter(([k, t]) => k.startsWith('state.') && !k.endsWith('.step') && t.dtype !== 'float64');
      assert.deepEqual(notFloat64.map(([k]) => k), [], 'optimizer state converted');
      for (let i = 0; i < 3; i++) {
        step(a, optA);
        step(b, optB);
      }
      for (const [k, t] of Object.entries(b.stateDict())) assert.deepEqual(Array.from(a.stateDict()[k].data), Array.from(t.data), k);
    });
  }
});

test("registerBuffer names a field of the module: a typo or PyTorch's snake_case key is an error, not a buffer silently missing from the state dict", () => {
  class Counter extends Module {
    stepCount: Tensor = zeros([]);
    constructor(name: string) {
      super();
      this.registerBuffer(name as 'stepCount');
    }
    forward(x: Tensor): Tensor {
      return x;
    }
  }
  assert.deepEqual(Object.keys(new Counter('stepCount').stateDict()), ['step_count']);
  assert.throws(() => new Counter('step_count'), /^TypeError: registerBuffer: Counter has no field 'step_count' \(did you mean 'stepCount'\? fields are camelCase, their state dict keys snake_case\)/);
  assert.throws(() => new Counter('stepCuont'), /^TypeError: registerBuffer: Counter has no field 'stepCuont'; assign the field before registering it$/);
});
