import { noGrad } from '../autograd/tape.js';
import { buildModel, describeModel } from '../io/checkpoint.js';
import { Tensor } from '../tensor/tensor.js';
import { BatchNorm } from './batchnorm.js';
import { Conv2d } from './conv.js';
import { Identity } from './identity.js';
import { Linear } from './linear.js';
import { Module, Parameter } from './module.js';
import { Sequential } from './sequential.js';
import { className } from '../describe.js';

/**
 * A deep copy of a model made of the layers `describeModel` knows (the classes themselves, not
 * subclasses: those are refused), in the same mode.
 */
export function cloneModel<M extends Module>(model: M): M {
  return copyModel(model, 'cloneModel');
}

/** cloneModel, naming `fn` (the public function called) in its errors. */
function copyModel<M extends Module>(model: M, fn: string): M {
  const float64 = model.parameters().some((p) => p.dtype === 'float64');
  const copy = buildModel(describeModel(model, 'model', fn), { dtype: float64 ? 'float64' : 'float32' }) as M;
  copy.loadStateDict(model.stateDict());
  const modes = model.modules();
  copy.modules().forEach((m, i) => {
    m.training = modes[i].training;
    if (m instanceof BatchNorm) m.frozen = (modes[i] as BatchNorm).frozen;
  });
  const params = model.parameters();
  copy.parameters().forEach((p, i) => p.requiresGrad_(params[i].requiresGrad));
  return copy;
}

/**
 * Returns an equivalent model for inference in which every Linear or Conv2d directly followed
 * by a BatchNorm (inside a Sequential) is merged into one layer, per output channel c:
 *
 *   s = gamma[c] / sqrt(runningVar[c] + eps)
 *   W'[c] = W[c] * s          b'[c] = (b[c] - runningMean[c]) * s + beta[c]
 *
 * (gamma = 1 and beta = 0 without `affine`; b = 0 for a layer without bias). The BatchNorm is
 * replaced by an Identity, so every other layer keeps its index and state dict key, as with
 * PyTorch's `torch.ao.quantization.fuse_modules`. The input model is not modified. Arithmetic is
 * in float64, so the folded layer differs from BN(layer(x)) only by float32 rounding.
 *
 * BatchNorm layers that do not follow a Linear/Conv2d, or that keep no running statistics,
 * stay as they are. A Linear is folded with the BatchNorm1d after it for (N, features)
 * activations, the usual case: on (N, L, features) BatchNorm1d would normalise dim 1 instead,
 * which no per-feature scaling reproduces, so do not fold such models; a channels-last
 * BatchNorm1d (`channelsLast`) normalises the features on any rank and folds exactly. A Conv2d
 * followed by a channels-last BatchNorm (which normalises the width, not the conv's channels)
 * is left as it is.
 *
 * Throws when a BatchNorm is in training mode (it would use batch statistics, which no fixed
 * weight can reproduce): call `model.eval()` first.
 * @example const fast = foldBatchNorm(model.eval()); fast.forward(x); // same outputs, fewer passes
 */
export function foldBatchNorm<M extends Module>(model: M): M {
  for (const [name, m] of model.namedModules()) {
    if (m instanceof BatchNorm && m.training && !m.frozen) {
      throw new Error(
        `foldBatchNorm: ${className(m)} at "${name || '(root)'}" is in training mode, where it normalises with batch statistics ` +
          'that no folded weight can reproduce; call model.eval() first',
      );
    }
  }
  const folded = copyModel(model, 'foldBatchNorm');
  noGrad(() => {
    for (const seq of folded.modules()) {
      if (!(seq instanceof Sequential)) continue;
      for (let i = 0; i + 1 < seq.length; i++) {
        const layer = seq[i];
        const bn = seq[i + 1];
        if (!(layer instanceof Linear || layer instanceof Conv2d) || !(bn instanceof BatchNorm)) continue;
        if (!bn.runningMean || !bn.runningVar || (bn.channelsLast && layer instanceof Conv2d)) continue;
        const out = layer instanceof Linear ? layer.outFeatures : layer.outChannels;
        if (bn.numFeatures !== out) {
          throw new RangeError(`foldBatchNorm: layer ${i} has ${out} outputs but the ${className(bn)} after it has ${bn.numFeatures} features`);
        }
        const merged = layer.bias ? layer : withBias(layer);
        mergeInto(merged, bn);
        seq[i] = merged;
        seq[i + 1] = new Identity();
      }
    }
  });
  return folded;
}

/** The same layer with a zero bias, so the folded shift has somewhere to go. */
function withBias(layer: Linear | Conv2d): Linear | Conv2d {
  const spec = describeModel(layer) as { bias: boolean };
  spec.bias = true;
  const copy = buildModel(spec as never, { dtype: layer.weight.dtype === 'float64' ? 'float64' : 'float32' }) as Linear | Conv2d;
  copy.weight.data.set(layer.weight.data);
  copy.bias!.data.fill(0);
  copy.training = layer.training;
  copy.weight.requiresGrad_(layer.weight.requiresGrad);
  return copy;
}

function mergeInto(layer: Linear | Conv2d, bn: BatchNorm): void {
  const w = layer.weight.data;
  const b = (layer.bias as Parameter).data;
  const mean = (bn.runningMean as Tensor).data;
  const variance = (bn.runningVar as Tensor).data;
  const per = w.length / bn.numFeatures; // weight elements per output channel (row-major, channel first)
  for (let c = 0; c < bn.numFeatures; c++) {
    const gamma = bn.weight ? bn.weight.data[c] : 1;
    const beta = bn.bias ? bn.bias.data[c] : 0;
    const scale = gamma / Math.sqrt(variance[c] + bn.eps);
    for (let k = c * per; k < (c + 1) * per; k++) w[k] = w[k] * scale;
    b[c] = (b[c] - mean[c]) * scale + beta;
  }
}
