/**
 * Section 2, ravine vs bowl: a two-feature linear model y = w1 x1 + w2 x2 fit by gradient
 * descent on the mean squared error, once on raw features whose scales differ tenfold and once
 * on the same features after BatchNorm1d. Everything here is computed by the library: the
 * normalisation (BatchNorm1d in training mode), the loss surface (one matmul over a grid of
 * weights), the descent (Linear + mseLoss + backward + SGD).
 */
import { noGrad } from '../../src/autograd/tape.js';
import { BatchNorm1d } from '../../src/nn/batchnorm.js';
import { Linear } from '../../src/nn/linear.js';
import { mseLoss } from '../../src/ops/loss.js';
import { SGD } from '../../src/optim/sgd.js';
import { RNG } from '../../src/random.js';
import { tensor, type Tensor } from '../../src/tensor/tensor.js';

export interface RavineData {
  /** (N, 2) features. */
  x: Tensor;
  /** (N, 1) targets. */
  y: Tensor;
}

/** Standard deviation of each raw feature: 1 and 10, so the surface is a ravine. */
export const FEATURE_SCALES = [1, 10] as const;
export const TRUE_WEIGHTS = [1.5, 0.2] as const;

/** N samples of y = 1.5 x1 + 0.2 x2 + noise with x1 ~ N(0, 1), x2 ~ N(0, 10^2), from a seeded RNG. */
export function makeRavineData(seed = 1, n = 64): RavineData {
  const rng = new RNG(seed);
  const xs: number[] = [];
  const ys: number[] = [];
  for (let i = 0; i < n; i++) {
    const x1 = FEATURE_SCALES[0] * rng.normal();
    const x2 = FEATURE_SCALES[1] * rng.normal();
    xs.push(x1, x2);
    ys.push(TRUE_WEIGHTS[0] * x1 + TRUE_WEIGHTS[1] * x2 + 0.3 * rng.normal());
  }
  return { x: tensor(xs, [n, 2], { dtype: 'float64' }), y: tensor(ys, [n, 1], { dtype: 'float64' }) };
}

/** The same data with each feature normalised by BatchNorm1d(2) (no gamma/beta) over the whole set. */
export function normalizeFeatures(data: RavineData): RavineData {
  const bn = new BatchNorm1d(2, { affine: false, trackRunningStats: false, dtype: 'float64' });
  return { x: noGrad(() => bn.forward(data.x)), y: data.y };
}

export interface Domain {
  w1: [number, number];
  w2: [number, number];
}

/**
 * The loss at a size x size grid of weights over `domain`, as vega's isocontour transform
 * wants it: row-major, row 0 at the top (largest w2).
 */
export function lossGrid(data: RavineData, domain: Domain, size: number): Float64Array {
  const w: number[] = [];
  for (let r = 0; r < size; r++) {
    const w2 = domain.w2[1] - ((r + 0.5) / size) * (domain.w2[1] - domain.w2[0]);
    for (let c = 0; c < size; c++) w.push(domain.w1[0] + ((c + 0.5) / size) * (domain.w1[1] - domain.w1[0]), w2);
  }
  return noGrad(() => {
    const weights = tensor(w, [size * size, 2], { dtype: 'float64' });
    const residual = weights.matmul(data.x.t()).sub(data.y.t()); // (G, N): every grid point's errors at once
    return Float64Array.from(residual.mul(residual).mean(1).data);
  });
}

export interface PathPoint {
  step: number;
  w1: number;
  w2: number;
  loss: number;
}

/** Where a descent that runs away is cut off: the picture has left the page long before. */
const DIVERGED = 1e8;

/**
 * Gradient descent from `start` with learning rate `lr`: a Linear(2, 1, bias false) trained on
 * mseLoss with the library's SGD. Stops early when the loss exceeds 1e8 (diverged).
 */
export function descend(data: RavineData, start: [number, number], lr: number, steps: number): PathPoint[] {
  const model = new Linear(2, 1, { bias: false, dtype: 'float64', rng: new RNG(0) });
  model.weight.data.set(start);
  const opt = new SGD(model.parameters(), { lr });
  const path: PathPoint[] = [];
  for (let step = 0; ; step++) {
    opt.zeroGrad();
    const loss = mseLoss(model.forward(data.x), data.y);
    const [w1, w2] = model.weight.data;
    path.push({ step, w1, w2, loss: loss.item() });
    if (step === steps || !(loss.item() < DIVERGED)) break;
    loss.backward();
    opt.step();
  }
  return path;
}

/**
 * Largest stable learning rate, 2 / lambda_max of the loss's Hessian 2/N X^T X (computed with
 * the library's matmul), and the Hessian's condition number: the ravine's steepness ratio.
 */
export function curvature(data: RavineData): { maxStableLr: number; condition: number } {
  const n = data.x.shape[0];
  const h = noGrad(() => data.x.t().matmul(data.x).mul(2 / n)).data;
  const tr = h[0] + h[3];
  const det = h[0] * h[3] - h[1] * h[2];
  const disc = Math.sqrt(Math.max(0, (tr * tr) / 4 - det));
  const hi = tr / 2 + disc;
  const lo = tr / 2 - disc;
  return { maxStableLr: 2 / hi, condition: hi / lo };
}
