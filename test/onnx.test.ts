// ONNX export, checked by running the exported file in ONNX Runtime (onnxruntime-node).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as ort from 'onnxruntime-node';
import {
  BatchNorm1d, BatchNorm2d, Conv2d, Flatten, Linear, MaxPool2d, Module, ReLU, RNG, Sequential, Sigmoid, Tanh, Tensor, randn, rand, foldBatchNorm, cloneModel,
} from '../src/index.js';
import type { BatchNorm } from '../src/nn/batchnorm.js';
import { decodeOnnx, exportOnnx } from '../src/io/onnx.js';

function randomizeBn(model: Module, rng: RNG): void {
  for (const m of model.modules()) {
    if (!('runningVar' in m)) continue;
    const bn = m as BatchNorm;
    bn.runningMean!.data.set(randn([bn.numFeatures], { rng }).mul(2).data);
    bn.runningVar!.data.set(rand([bn.numFeatures], { rng, low: 0.01, high: 5 }).data);
    bn.weight?.data.set(randn([bn.numFeatures], { rng }).data);
    bn.bias?.data.set(randn([bn.numFeatures], { rng }).data);
  }
}

async function runOrt(bytes: Uint8Array, x: Tensor): Promise<{ data: Float32Array; dims: readonly number[] }> {
  const session = await ort.InferenceSession.create(bytes);
  const out = await session.run({ input: new ort.Tensor('float32', Float32Array.from(x.data), [...x.shape]) });
  const y = out.output;
  return { data: y.data as Float32Array, dims: y.dims };
}

/** ORT and we both compute in float32 (different summation orders): |ort - ours| <= 1e-6 (1 + |ours|). */
function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string, tol = 1e-6): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    const err = Math.abs(actual[i] - expected[i]) / (1 + Math.abs(expected[i]));
    assert.ok(err <= tol, `${what}[${i}]: ONNX Runtime ${actual[i]} vs ours ${expected[i]} (relative error ${err})`);
  }
}

const models: [string, (rng: RNG) => Module, number[]][] = [
  ['MLP (Gemm, BatchNormalization, Sigmoid, Relu, Tanh)', (rng) => new Sequential(
    new Linear(12, 16, { rng }), new BatchNorm1d(16), new Sigmoid(),
    new Linear(16, 8, { rng, bias: false }), new BatchNorm1d(8, { affine: false, eps: 1e-3 }), new ReLU(),
    new Linear(8, 4, { rng }), new Tanh(),
  ), [7, 12]],
  ['conv net (Conv, BatchNormalization 4-D, MaxPool, Flatten, nested Sequential)', (rng) => new Sequential(
    new Conv2d(2, 5, 3, { padding: 1, rng }), new BatchNorm2d(5), new ReLU(), new MaxPool2d(2),
    new Sequential(new Conv2d(5, 3, [3, 2], { stride: [1, 2], dilation: [2, 1], padding: [1, 0], rng, bias: false }), new BatchNorm2d(3, { momentum: null })),
    new MaxPool2d(2, 1, 1), new Flatten(), new Linear(3 * 3 * 3, 6, { rng }), new BatchNorm1d(6),
  ), [3, 2, 9, 9]],
  ['Linear on (N, L, F) (MatMul + Add) and Flatten(0, 1) (Reshape)', (rng) => new Sequential(
    new Linear(5, 4, { rng }), new Tanh(), new Flatten(0, 1), new Linear(4, 2, { rng }),
  ), [3, 6, 5]],
  ['channels-last BatchNorm1d on (N, L, F) after Linear (folds) and BatchNorm2d on (N, H, W, C) (Transpose, BatchNormalization, Transpose)', (rng) => new Sequential(
    new BatchNorm2d(3, { channelsLast: true }), new Flatten(1, 2), new Linear(3, 5, { rng }), new BatchNorm1d(5, { channelsLast: true }), new Tanh(),
  ), [2, 4, 6, 3]],
];

for (const [name, make, shape] of models) {
  for (const fold of [false, true]) {
    test(`${name}${fold ? ', folded' : ''}: ONNX Runtime computes what we compute`, async () => {
      const rng = new RNG(21);
      const model = make(rng);
      randomizeBn(model, rng);
      model.eval();
      const bytes = exportOnnx(model, shape, { fold });
      const x = randn(shape, { rng }).mul(2).add(0.5);
      const ours = model.forward(x);
      const theirs = await runOrt(bytes, x);
      assert.deepEqual(theirs.dims, ours.shape);
      assertClose(theirs.data, ours.data, name);
      const graph = decodeOnnx(bytes).graph as { node: { op_type: string; input: string[] }[]; initializer: { name: string }[] };
      const used = new Set(graph.node.flatMap((n) => n.input));
      assert.deepEqual(graph.initializer.map((i) => i.name).filter((i) => !used.has(i)), [], 'every initializer is some node\'s input');
      const ops = graph.node.map((n) => n.op_type);
      const bnLeft = (fold ? foldBatchNorm(model) : model).modules().filter((m) => 'runningVar' in m).length;
      assert.equal(ops.filter((op) => op === 'BatchNormalization').length, bnLeft, `ops: ${ops.join(', ')}`);
      if (!name.startsWith('Linear on')) {
        // The batch dim is dynamic: another batch size runs too (unless a Reshape folded it in).
        const x2 = randn([2, ...shape.slice(1)], { rng });
        assertClose((await runOrt(bytes, x2)).data, model.forward(x2).data, `${name}, batch 2`);
      }
    });
  }
}

test('the file says opset 15, IR 8, names initializers by state dict key', () => {
  const model = new Sequential(new Linear(3, 2, { rng: new RNG(0) }), new BatchNorm1d(2)).eval();
  const m = decodeOnnx(exportOnnx(model, [1, 3])) as {
    ir_version: number; opset_import: { version: number }[]; graph: { initializer: { name: string }[]; input: unknown[] };
  };
  assert.equal(m.ir_version, 8);
  assert.deepEqual(m.opset_import.map((o) => o.version), [15]);
  assert.deepEqual(m.graph.initializer.map((i) => i.name), ['0.weight', '0.bias', '1.weight', '1.bias', '1.running_mean', '1.running_var']);
});

test('export refuses what ONNX inference cannot express, with clear errors', () => {
  const rng = new RNG(0);
  const train = new Sequential(new Linear(3, 2, { rng }), new BatchNorm1d(2));
  assert.throws(() => exportOnnx(train, [1, 3]), /exportOnnx: BatchNorm1d at "1" is in training mode; ONNX inference uses the running statistics, so call model\.eval\(\) first/);
  const noStats = new Sequential(new Linear(3, 2, { rng }), new BatchNorm1d(2, { trackRunningStats: false })).eval();
  assert.throws(() => exportOnnx(noStats, [1, 3]), /^Error: exportOnnx: BatchNorm1d at "1" keeps no running statistics/, 'named before the trial run, which a batch of one would fail');
  assert.throws(() => exportOnnx(new Sequential(new Linear(3, 2, { rng })).eval(), [1, 4]), /layer "0" \(Linear\) rejects its input of shape \[1, 4\]/);
  class Residual extends Linear {
    inner = new Linear(2, 2, { rng });
  }
  assert.throws(() => exportOnnx(new Sequential(new Residual(3, 2, { rng })).eval(), [1, 3]), /cannot export "0" \(Residual\): only Sequential containers are supported/);
  assert.throws(() => exportOnnx(new Sequential(new Linear(3, 2, { rng })).eval(), [0, 3]), /inputShape must be positive integers/);
  const double = new Sequential(new Linear(3, 2, { rng }), new BatchNorm1d(2)).double().eval();
  assert.throws(() => exportOnnx(double, [1, 3]), /^TypeError: exportOnnx: the graph is float32, but parameter "0.weight" is float64; export a float32 copy: exportOnnx\(cloneModel\(model\).float\(\), \.\.\.\)$/);
  assert.ok(exportOnnx(cloneModel(double).float(), [1, 3]).length > 0, 'the advice works');
  assert.equal(double.parameters()[0].dtype, 'float64', 'and leaves the model as it was');
  class Dropout extends Module {
    forward(x: Tensor): Tensor {
      return x;
    }
  }
  assert.throws(() => exportOnnx(new Sequential(new Linear(3, 2, { rng }), new Dropout()).eval(), [1, 3]), /cannot export layer "1" \(Dropout\); supported: Linear, Conv2d/);
  // A subclass of a known layer may compute something else: exporting it as its base class would be silently wrong.
  class ScaledLinear extends Linear {
    override forward(x: Tensor): Tensor {
      return super.forward(x).mul(10);
    }
  }
  assert.throws(() => exportOnnx(new Sequential(new ScaledLinear(3, 2, { rng })).eval(), [1, 3]), /^TypeError: exportOnnx: cannot export layer "0" \(ScaledLinear\), a subclass of Linear: its own code would be lost \(unless in eval mode it computes as Linear: declare static savesAs = Linear\); supported: Linear/);
  class Net extends Sequential {
    override forward(x: Tensor): Tensor {
      return super.forward(x).mul(2);
    }
  }
  assert.throws(() => exportOnnx(new Net(new Linear(3, 2, { rng })).eval(), [1, 3]), /^TypeError: exportOnnx: cannot export "\(root\)" \(Net\), a subclass of Sequential: its own code would be lost/);
  // A frozen BN in training mode exports: it uses its running statistics there too.
  const frozen = new Sequential(new Linear(3, 2, { rng }), new BatchNorm1d(2));
  (frozen[1] as BatchNorm1d).freeze();
  assert.doesNotThrow(() => exportOnnx(frozen, [1, 3]));
});
