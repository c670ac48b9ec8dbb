import type { AdamHyper, FloatArray, SgdHyper } from '../types.js';

// The optimizers' updates in float64 arithmetic (rounded once when stored).

export function sgdStep(w: FloatArray, grad: FloatArray, buf: FloatArray | null, h: SgdHyper): void {
  const { lr, momentum, dampening, weightDecay, nesterov, first } = h;
  for (let i = 0; i < w.length; i++) {
    let g = grad[i] + weightDecay * w[i];
    if (buf) {
      buf[i] = first ? g : momentum * buf[i] + (1 - dampening) * g;
      g = nesterov ? g + momentum * buf[i] : buf[i];
    }
    w[i] -= lr * g;
  }
}

export function adamStep(w: FloatArray, grad: FloatArray, m: FloatArray, v: FloatArray, h: AdamHyper): void {
  const { stepSize, bc2Sqrt, beta1, beta2, eps, weightDecay } = h;
  for (let i = 0; i < w.length; i++) {
    const g = grad[i] + weightDecay * w[i];
    m[i] = beta1 * m[i] + (1 - beta1) * g;
    v[i] = beta2 * v[i] + (1 - beta2) * g * g;
    w[i] -= (stepSize * m[i]) / (Math.sqrt(v[i]) / bc2Sqrt + eps);
  }
}
