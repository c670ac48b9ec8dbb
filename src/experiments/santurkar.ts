/**
 * The two experiments of Santurkar, Tsipras, Ilyas & Madry (2018), "How Does Batch Normalization
 * Help Optimization?" (https://arxiv.org/abs/1805.11604), on the lab's network:
 *
 * - **Noisy BatchNorm** (their section 2.1, Figure 2): noise whose distribution changes at every
 *   step is injected right after each BatchNorm layer, so the next layer sees *unstable* input
 *   distributions (more "internal covariate shift" than without BN). If BN worked by keeping
 *   those distributions stable, the noisy network should train like the plain one. In the lab
 *   (README) it keeps most of BN's early lead, then ends level with the plain one, below BN.
 *   `ActivationNoise` is that noise.
 * - **The loss landscape** (their section 3, Figure 4): at a training step, move the weights
 *   along the gradient by several step sizes and measure how much the loss and the gradient
 *   change. `probeLandscape` measures it; the lab records it every few steps.
 *
 * No Node imports: usable in a browser.
 */
import { crossEntropy, type Targets } from '../ops/loss.js';
import { add, mul } from '../ops/elementwise.js';
import { Identity } from '../nn/identity.js';
import type { Module } from '../nn/module.js';
import { RNG } from '../random.js';
import { Tensor } from '../tensor/tensor.js';
import { tidy } from '../tensor/tidy.js';

/** The per-step seed of one noise layer: a fixed function of (seed, layer, step), so a resumed run draws the same noise. */
function stepSeed(seed: number, layer: number, step: number): number {
  let h = Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(layer + 1, 0xc2b2ae35) ^ Math.imul(step + 1, 0x27d4eb2f);
  h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d);
  return (h ^ (h >>> 13)) >>> 0;
}

/**
 * Santurkar et al.'s "noisy BatchNorm" perturbation, put right after a BatchNorm layer. In
 * training mode each value `y` of unit `j` (input `(N, F)`) becomes
 *
 *     y * (a_j + c_j * e1) + (b_j + d_j * e2),   e1, e2 ~ N(0, 1) for each sample,
 *
 * where the distribution itself changes at every step: with strength `k`,
 * `a_j ~ U(1 - k/2, 1 + k/2)`, `b_j ~ U(-k, k)`, `c_j, d_j ~ U(0, k/2)`, drawn afresh for each
 * step (`setStep`). Over steps the transform averages to the identity, which is what the layer is
 * in evaluation mode, so it exports and checkpoints as an `Identity` (like PyTorch's Dropout).
 * The draws depend only on (seed, layer, step): the same run draws the same noise, resumed or not.
 * The exact distribution is ours (the paper gives its own in its appendix; any non-stationary,
 * non-zero-mean, non-unit-variance choice serves the argument).
 */
export class ActivationNoise extends Identity {
  static override readonly displayName: string = 'ActivationNoise';
  /** In evaluation mode it is the identity: checkpoints, clones and ONNX exports hold an Identity. */
  static readonly savesAs = Identity;
  private step = 0;

  /** `strength` k in (0, 2) (scale means stay positive); `layer` tells layers' draws apart. */
  constructor(readonly strength: number, readonly seed: number, readonly layer: number) {
    super();
    if (!(strength > 0 && strength < 2)) throw new RangeError(`noise strength must be in (0, 2) (got ${strength})`);
  }

  /** The training step whose noise the next training-mode forward draws. */
  setStep(step: number): void {
    this.step = step;
  }

  override forward(x: Tensor): Tensor {
    return this.training ? this.perturb(x, new RNG(stepSeed(this.seed, this.layer, this.step))) : x;
  }

  /**
   * The perturbation with draws from `rng` (unit distributions first, then per-sample noise),
   * whatever the mode: the lab uses it to look at what the next layer sees in training.
   */
  perturb(x: Tensor, rng: RNG): Tensor {
    if (x.shape.length !== 2) throw new RangeError(`ActivationNoise: expected 2D input (got ${x.shape.length}D input)`);
    const [n, f] = x.shape;
    const k = this.strength;
    const a = new Float64Array(f);
    const b = new Float64Array(f);
    const c = new Float64Array(f);
    const d = new Float64Array(f);
    for (let j = 0; j < f; j++) {
      a[j] = 1 + k * (rng.uniform() - 0.5);
      b[j] = k * (2 * rng.uniform() - 1);
      c[j] = (k / 2) * rng.uniform();
      d[j] = (k / 2) * rng.uniform();
    }
    const scale = new Float32Array(n * f);
    const shift = new Float32Array(n * f);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < f; j++) {
        scale[i * f + j] = a[j] + c[j] * rng.normal();
        shift[i * f + j] = b[j] + d[j] * rng.normal();
      }
    }
    return add(mul(x, new Tensor(scale, [n, f])), new Tensor(shift, [n, f]));
  }
}

/** One look at the landscape around the weights of a training step (Santurkar et al., Figure 4). */
export interface LandscapePoint {
  /** Steps trained before the look (the look is at the weights the next update starts from). */
  step: number;
  /** Loss and gradient norm (over all parameters) at the weights themselves. */
  loss: number;
  gradNorm: number;
  /** The step sizes moved along the gradient (`w - eta * g`). */
  etas: number[];
  /** The loss at each step size. */
  losses: number[];
  /** `||grad(w - eta * g) - grad(w)||` at each step size: how predictive the gradient is. */
  gradChanges: number[];
}

/** Derived numbers of a look: the loss range, the largest gradient change, and the effective beta-smoothness. */
export function summarizeLandscape(p: LandscapePoint): { lossMin: number; lossMax: number; gradChangeMax: number; smoothness: number } {
  const losses = [p.loss, ...p.losses];
  return {
    lossMin: Math.min(...losses),
    lossMax: Math.max(...losses),
    gradChangeMax: Math.max(...p.gradChanges),
    // The largest change of the gradient per distance moved: max ||dg|| / (eta ||g||).
    smoothness: p.gradNorm > 0 ? Math.max(...p.gradChanges.map((dg, i) => dg / (p.etas[i] * p.gradNorm))) : 0,
  };
}

const mean = (v: number[]): number => (v.length ? v.reduce((s, x) => s + x, 0) / v.length : NaN);

/**
 * What one run of the Santurkar experiment comes to (the CLI's table, the web lab's): how far the
 * tracked sigmoid input's median moves between two evaluations after step 0 (the distribution the
 * layer sees), and the looks at the landscape after step 0 averaged (`summarizeLandscape`).
 * NaN where there is nothing to average yet.
 */
export function santurkarSummary(run: { percentiles: { step: number; p50: number }[]; landscape: LandscapePoint[] }): {
  medianMove: number; lossRange: number; gradChange: number; smoothness: number;
} {
  const p = run.percentiles.filter((x) => x.step > 0);
  const looks = run.landscape.filter((l) => l.step > 0).map(summarizeLandscape);
  return {
    medianMove: mean(p.slice(1).map((x, i) => Math.abs(x.p50 - p[i].p50))),
    lossRange: mean(looks.map((l) => l.lossMax - l.lossMin)),
    gradChange: mean(looks.map((l) => l.gradChangeMax)),
    smoothness: mean(looks.map((l) => l.smoothness)),
  };
}

/**
 * Loss and gradient of `model` (in its current mode) on a batch, as a float64 copy of every
 * parameter's gradient laid end to end.
 */
function lossAndGradient(model: Module, x: Tensor, labels: Targets): { loss: number; grad: Float64Array } {
  const params = model.parameters();
  return tidy(() => {
    model.zeroGrad();
    const loss = crossEntropy(model.forward(x), labels);
    const value = loss.item();
    loss.backward();
    const grad = new Float64Array(params.reduce((s, p) => s + p.size, 0));
    let o = 0;
    for (const p of params) {
      const g = p.grad?.data;
      if (g) for (let i = 0; i < p.size; i++) grad[o + i] = g[i];
      o += p.size;
    }
    model.zeroGrad();
    return { loss: value, grad };
  });
}

/**
 * Moves the weights of `model` along its gradient on the batch `(x, labels)` by each step size
 * in `etas` and measures the loss and the gradient there (the model's mode decides BatchNorm's
 * statistics: training mode, as the optimizer sees it). Everything is put back afterwards: the
 * weights, BatchNorm's running statistics and counters, and no gradient is left behind, so a
 * run with looks trains exactly as one without.
 * @example
 * const look = probeLandscape(model, x, labels, [0.25, 0.5, 1, 2, 4].map((m) => m * lr));
 */
export function probeLandscape(model: Module, x: Tensor, labels: Targets, etas: number[]): Omit<LandscapePoint, 'step'> {
  for (const eta of etas) if (!(eta > 0 && Number.isFinite(eta))) throw new RangeError(`step sizes must be positive numbers (got ${eta})`);
  const params = model.parameters();
  const weights = params.map((p) => p.data.slice());
  const buffers = model.namedBuffers().map(([, b]) => [b, b.data.slice()] as const);
  try {
    const at = lossAndGradient(model, x, labels);
    let gradNorm = 0;
    for (const g of at.grad) gradNorm += g * g;
    gradNorm = Math.sqrt(gradNorm);
    const losses: number[] = [];
    const gradChanges: number[] = [];
    for (const eta of etas) {
      let o = 0;
      for (const [k, p] of params.entries()) {
        const w = weights[k];
        for (let i = 0; i < p.size; i++) p.data[i] = w[i] - eta * at.grad[o + i];
        o += p.size;
      }
      const moved = lossAndGradient(model, x, labels);
      let change = 0;
      for (let i = 0; i < moved.grad.length; i++) change += (moved.grad[i] - at.grad[i]) ** 2;
      losses.push(moved.loss);
      gradChanges.push(Math.sqrt(change));
    }
    return { loss: at.loss, gradNorm, etas: [...etas], losses, gradChanges };
  } finally {
    params.forEach((p, k) => p.data.set(weights[k]));
    for (const [b, saved] of buffers) b.data.set(saved);
  }
}
