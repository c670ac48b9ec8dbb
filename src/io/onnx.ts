/**
 * ONNX export of a model for inference (opset 15, IR version 8), encoded with protobufjs from
 * the subset of onnx.proto in onnxProto.ts. Runs in a browser too.
 *
 * Layer mapping: Linear -> Gemm (2-D input) or MatMul + Add; Conv2d -> Conv; MaxPool2d ->
 * MaxPool; BatchNorm1d/2d/3d -> BatchNormalization (running statistics, inference mode;
 * a channels-last one between two Transposes);
 * ReLU/Sigmoid/Tanh -> Relu/Sigmoid/Tanh; Flatten -> Flatten or Reshape; Identity -> nothing.
 * Initializers are named by their state dict keys (`0.weight`, `1.running_mean`), as
 * `torch.onnx.export` names them.
 */
import { checkOptions, className, exactClass } from '../describe.js';
import { noGrad } from '../autograd/tape.js';
import { BatchNorm, BatchNorm1d, BatchNorm2d, BatchNorm3d } from '../nn/batchnorm.js';
import { Flatten, ReLU, Sigmoid, Tanh } from '../nn/activation.js';
import { Conv2d, MaxPool2d } from '../nn/conv.js';
import { foldBatchNorm } from '../nn/fold.js';
import { Identity } from '../nn/identity.js';
import { Linear } from '../nn/linear.js';
import type { Module } from '../nn/module.js';
import { Sequential } from '../nn/sequential.js';
import { formatShape } from '../tensor/shape.js';
import { Tensor, zeros } from '../tensor/tensor.js';
import { onnxTypes } from './onnxProto.js';

const FLOAT = 1;
const INT64 = 7;
const ATTR = { FLOAT: 1, INT: 2, INTS: 7 } as const;
export const ONNX_OPSET = 15;
const IR_VERSION = 8; // ONNX 1.10+, the IR that goes with opset 15

export interface ExportOnnxOptions {
  /** Fold every BatchNorm that follows a Linear/Conv2d into it first (see `foldBatchNorm`). Default false. */
  fold?: boolean | undefined;
  /** Let the batch dim (0) vary, named "N" (default true); false fixes it to `inputShape[0]`. */
  dynamicBatch?: boolean | undefined;
  /** Names of the graph's input and output (default "input", "output"). */
  inputName?: string | undefined;
  outputName?: string | undefined;
  /** Stored in the model's doc_string. */
  docString?: string | undefined;
}

type Attr = { name: string; type: number; f?: number; i?: number; ints?: number[] };
type Node = { input: string[]; output: string[]; name: string; op_type: string; attribute: Attr[] };
type Init = { name: string; dims: number[]; data_type: number; raw_data: Uint8Array };

const int = (name: string, i: number): Attr => ({ name, type: ATTR.INT, i });
const ints = (name: string, v: number[]): Attr => ({ name, type: ATTR.INTS, ints: v });
const float = (name: string, f: number): Attr => ({ name, type: ATTR.FLOAT, f });

/**
 * Encodes a model as an ONNX file (bytes) for inference: opset 15, float32 tensors, the batch
 * dim dynamic. The model must be a (nested) Sequential of Linear, Conv2d, MaxPool2d,
 * BatchNorm1d/2d/3d (with running statistics), ReLU, Sigmoid, Tanh, Flatten and Identity, and
 * its BatchNorm layers must be in evaluation mode (or frozen): an exported graph normalises with
 * the running statistics. `inputShape` includes the batch dim, e.g. `[1, 784]` or `[1, 1, 28, 28]`;
 * the model is run once on zeros of that shape to check it and record the shapes.
 * @example
 * const bytes = exportOnnx(model.eval(), [1, 784], { fold: true });
 * writeFileAtomic('mlp.onnx', bytes);  // then: new ort.InferenceSession(...) in onnxruntime
 */
export function exportOnnx(model: Module, inputShape: readonly number[], options: ExportOnnxOptions = {}): Uint8Array {
  checkOptions('exportOnnx', options, ['fold', 'dynamicBatch', 'inputName', 'outputName', 'docString']);
  const { fold = false, dynamicBatch = true, inputName = 'input', outputName = 'output' } = options;
  for (const [name, m] of model.namedModules()) {
    if (m instanceof BatchNorm && m.training && !m.frozen) {
      throw new Error(`exportOnnx: ${className(m)} at "${name || '(root)'}" is in training mode; ONNX inference uses the running statistics, so call model.eval() first`);
    }
    if (m instanceof BatchNorm && (!m.runningMean || !m.runningVar)) {
      throw new Error(`exportOnnx: ${className(m)} at "${name || '(root)'}" keeps no running statistics (trackRunningStats false), so it normalises with batch statistics even in eval mode; ONNX inference cannot express that`);
    }
  }
  const float64 = model.namedParameters().find(([, p]) => p.dtype === 'float64');
  if (float64) {
    throw new TypeError(`exportOnnx: the graph is float32, but parameter "${float64[0]}" is float64; export a float32 copy: exportOnnx(cloneModel(model).float(), ...)`);
  }
  const source = fold ? foldBatchNorm(model) : model;
  const layers = flattenLayers(source, '');
  if (!Array.isArray(inputShape) || inputShape.length < 1 || !inputShape.every((d) => Number.isInteger(d) && d > 0)) {
    throw new TypeError(`exportOnnx: inputShape must be positive integers including the batch dim, e.g. [1, 784] (got ${JSON.stringify(inputShape)})`);
  }

  const nodes: Node[] = [];
  const inits: Init[] = [];
  const initNames = new Set<string>();
  const addInit = (name: string, t: Tensor | { dims: number[]; data: BigInt64Array }): string => {
    if (initNames.has(name)) return name;
    initNames.add(name);
    if (t instanceof Tensor) {
      const f32 = t.data instanceof Float32Array ? t.data : Float32Array.from(t.data);
      inits.push({ name, dims: [...t.shape], data_type: FLOAT, raw_data: new Uint8Array(f32.buffer, f32.byteOffset, f32.byteLength) });
    } else {
      inits.push({ name, dims: t.dims, data_type: INT64, raw_data: new Uint8Array(t.data.buffer) });
    }
    return name;
  };

  let x = zeros(inputShape);
  let value = inputName;
  noGrad(() => {
    layers.forEach(([path, layer], li) => {
      const inShape = x.shape;
      try {
        x = layer.forward(x);
      } catch (err) {
        throw new Error(`exportOnnx: layer "${path}" (${className(layer)}) rejects its input of shape ${formatShape(inShape)}: ${(err as Error).message}`, { cause: err });
      }
      const out = li === layers.length - 1 ? outputName : `/${path}/${className(layer)}_output_0`;
      const node = (op: string, inputs: string[], attribute: Attr[] = [], output = out, name = `/${path}/${op}`): void => {
        nodes.push({ input: inputs, output: [output], name, op_type: op, attribute });
      };
      const key = (k: string) => (path ? `${path}.${k}` : k);
      exactClass(layer, ONNX_LAYERS, 'exportOnnx', `layer "${path}"`, ONNX_SUPPORTED);
      if (layer instanceof Linear) {
        // (N, F): Gemm with the weight as it is; (N, ..., F): MatMul with its transpose, stored instead.
        const w = inShape.length === 2 ? addInit(key('weight'), layer.weight) : addInit(key('weight_transposed'), layer.weight.t().clone());
        const b = layer.bias ? addInit(key('bias'), layer.bias) : null;
        if (inShape.length === 2) {
          node('Gemm', b ? [value, w, b] : [value, w], [float('alpha', 1), float('beta', 1), int('transB', 1)]);
        } else {
          if (b) {
            node('MatMul', [value, w], [], `/${path}/MatMul_output_0`);
            node('Add', [`/${path}/MatMul_output_0`, b]);
          } else {
            node('MatMul', [value, w]);
          }
        }
      } else if (layer instanceof Conv2d) {
        const w = addInit(key('weight'), layer.weight);
        const b = layer.bias ? addInit(key('bias'), layer.bias) : null;
        const [pH, pW] = layer.padding;
        node('Conv', b ? [value, w, b] : [value, w], [
          ints('kernel_shape', layer.kernelSize), ints('strides', layer.stride), ints('pads', [pH, pW, pH, pW]),
          ints('dilations', layer.dilation), int('group', 1),
        ]);
      } else if (layer instanceof MaxPool2d) {
        const [pH, pW] = layer.padding;
        node('MaxPool', [value], [
          ints('kernel_shape', layer.kernelSize), ints('strides', layer.stride), ints('pads', [pH, pW, pH, pW]),
          ints('dilations', layer.dilation), int('ceil_mode', 0),
        ]);
      } else if (layer instanceof BatchNorm) {
        const c = layer.numFeatures;
        const scale = layer.weight ? addInit(key('weight'), layer.weight) : addInit(key('weight'), zeros([c]).add(1));
        const bias = layer.bias ? addInit(key('bias'), layer.bias) : addInit(key('bias'), zeros([c]));
        // ONNX normalises dim 1: a channels-last layer of rank > 2 is wrapped in two Transposes.
        const r = inShape.length;
        const wrap = layer.channelsLast && r > 2;
        if (wrap) node('Transpose', [value], [ints('perm', [0, r - 1, ...Array.from({ length: r - 2 }, (_, i) => i + 1)])], `/${path}/Transpose_output_0`);
        const bnIn = wrap ? `/${path}/Transpose_output_0` : value;
        const bnOut = wrap ? `/${path}/BatchNormalization_output_0` : out;
        node('BatchNormalization', [bnIn, scale, bias, addInit(key('running_mean'), layer.runningMean!), addInit(key('running_var'), layer.runningVar!)] /* present: checked above */, [
          float('epsilon', layer.eps),
          // ONNX momentum is the weight of the OLD statistics (Keras's convention); unused in inference.
          float('momentum', 1 - (layer.momentum ?? 0.1)),
        ], bnOut);
        if (wrap) node('Transpose', [bnOut], [ints('perm', [0, ...Array.from({ length: r - 2 }, (_, i) => i + 2), 1])], out, `/${path}/Transpose_1`);
      } else if (layer instanceof ReLU) {
        node('Relu', [value]);
      } else if (layer instanceof Sigmoid) {
        node('Sigmoid', [value]);
      } else if (layer instanceof Tanh) {
        node('Tanh', [value]);
      } else if (layer instanceof Flatten) {
        const start = layer.startDim < 0 ? layer.startDim + inShape.length : layer.startDim;
        const end = layer.endDim < 0 ? layer.endDim + inShape.length : layer.endDim;
        if (start === 1 && end === inShape.length - 1) {
          node('Flatten', [value], [int('axis', 1)]);
        } else {
          // Keep dim 0 symbolic (0 = copy from the input) so the batch stays dynamic.
          const dims = x.shape.map((d, i) => (i === 0 && start > 0 ? 0 : i === 0 ? -1 : d));
          const shape = addInit(`/${path}/shape`, { dims: [dims.length], data: BigInt64Array.from(dims.map(BigInt)) });
          node('Reshape', [value, shape]);
        }
      } else if (layer instanceof Identity) {
        if (li === layers.length - 1) node('Identity', [value]);
        else return; // nothing to compute: the value flows on under its name
      }
      value = out;
    });
  });
  if (layers.length === 0) nodes.push({ input: [inputName], output: [outputName], name: '/Identity', op_type: 'Identity', attribute: [] });

  const dims = (shape: readonly number[]) =>
    shape.map((d, i) => (i === 0 && dynamicBatch ? { dim_param: 'N' } : { dim_value: d }));
  const valueInfo = (name: string, shape: readonly number[]) => ({
    name,
    type: { tensor_type: { elem_type: FLOAT, shape: { dim: dims(shape) } } },
  });
  const { ModelProto } = onnxTypes();
  const message = {
    ir_version: IR_VERSION,
    opset_import: [{ domain: '', version: ONNX_OPSET }],
    producer_name: 'batchnorm',
    producer_version: '0.1.0',
    doc_string: options.docString ?? '',
    graph: {
      name: 'batchnorm',
      node: nodes,
      initializer: inits,
      input: [valueInfo(inputName, inputShape)],
      output: [valueInfo(outputName, x.shape)],
    },
  };
  const err = ModelProto.verify(message);
  if (err) throw new Error(`exportOnnx: internal error building the ONNX message: ${err}`);
  return ModelProto.encode(ModelProto.fromObject(message)).finish();
}

/** The layers exportOnnx translates: these classes themselves (a subclass may compute something else). */
const ONNX_LAYERS = [Linear, Conv2d, MaxPool2d, BatchNorm1d, BatchNorm2d, BatchNorm3d, ReLU, Sigmoid, Tanh, Flatten, Identity];
const ONNX_SUPPORTED = 'Linear, Conv2d, MaxPool2d, BatchNorm1d/2d/3d, ReLU, Sigmoid, Tanh, Flatten, Identity, in Sequential (the classes themselves)';

/** Leaf layers in execution order with their dotted paths (nested Sequentials flattened). */
function flattenLayers(model: Module, prefix: string): [string, Module][] {
  if (model instanceof Sequential) {
    exactClass(model, [Sequential], 'exportOnnx', `"${prefix || '(root)'}"`, ONNX_SUPPORTED);
    return model.layers().flatMap((m, i) => flattenLayers(m, prefix ? `${prefix}.${i}` : String(i)));
  }
  if (model.children().length > 0) {
    throw new TypeError(`exportOnnx: cannot export "${prefix || '(root)'}" (${className(model)}): only Sequential containers are supported`);
  }
  return [[prefix, model]];
}

/**
 * Decodes an ONNX file into plain objects (for tests and `inspect`): ops, initializers, opset.
 * Bytes that are not a ModelProto (protobuf errors, no `ir_version` or `graph`, a node without
 * `op_type`, an initializer without a name) are an error naming `source` (e.g. the file).
 */
export function decodeOnnx(bytes: Uint8Array, source = 'ONNX'): Record<string, unknown> {
  const { ModelProto } = onnxTypes();
  let model: Record<string, unknown>;
  try {
    model = ModelProto.toObject(ModelProto.decode(bytes), { longs: Number, bytes: Array, defaults: false }) as Record<string, unknown>;
  } catch (err) {
    throw new Error(`${source}: not a valid ONNX model (expected a protobuf ModelProto; decoding failed: ${(err as Error).message})`);
  }
  const fail = (what: string): never => {
    throw new Error(`${source}: not a valid ONNX model (${what})`);
  };
  if (!model.ir_version) fail('no ir_version');
  const graph = model.graph as { node?: { op_type?: string }[]; initializer?: { name?: string }[] } | undefined;
  if (!graph) fail('no graph');
  graph!.node?.forEach((n, i) => n.op_type || fail(`node ${i} has no op_type`));
  graph!.initializer?.forEach((t, i) => t.name || fail(`initializer ${i} has no name`));
  return model;
}
