import { checkFloatDtype, checkOptions, checkSize } from '../describe.js';
import { linear } from '../ops/linear.js';
import { getDefaultRng, type RNG } from '../random.js';
import { rand, type Tensor } from '../tensor/tensor.js';
import { Module, Parameter } from './module.js';

export interface LinearOptions {
  /** Learn an additive bias (default true). */
  bias?: boolean | undefined;
  /** Generator for the initial weights (default: the global one). */
  rng?: RNG | undefined;
  dtype?: 'float32' | 'float64' | undefined;
}

/**
 * y = x W^T + b (PyTorch's `nn.Linear`): input (*, inFeatures) -> output (*, outFeatures).
 * weight (outFeatures, inFeatures) and bias (outFeatures) start uniform in
 * [-1/sqrt(inFeatures), 1/sqrt(inFeatures)], PyTorch's default initialisation.
 * @example const fc = new Linear(784, 100, { rng: new RNG(0) }); const y = fc.forward(x);
 */
export class Linear extends Module {
  static override readonly displayName: string = 'Linear';
  weight: Parameter;
  bias: Parameter | null;

  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    options: LinearOptions = {},
  ) {
    super();
    checkSize('Linear', 'inFeatures', inFeatures);
    checkSize('Linear', 'outFeatures', outFeatures);
    checkOptions('Linear', options, ['bias', 'rng', 'dtype']);
    const rng = options.rng ?? getDefaultRng();
    const bound = 1 / Math.sqrt(inFeatures);
    const dtype = checkFloatDtype('Linear', options.dtype ?? 'float32');
    this.weight = new Parameter(rand([outFeatures, inFeatures], { rng, dtype, low: -bound, high: bound }));
    this.bias = options.bias === false ? null : new Parameter(rand([outFeatures], { rng, dtype, low: -bound, high: bound }));
  }

  forward(x: Tensor): Tensor {
    return linear(x, this.weight, this.bias);
  }

  override toString(): string {
    return `Linear(inFeatures=${this.inFeatures}, outFeatures=${this.outFeatures}, bias=${this.bias !== null})`;
  }
}
