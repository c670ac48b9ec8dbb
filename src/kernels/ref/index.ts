import type { Kernels } from '../types.js';
import { batchNormBackward, batchNormInferForward, batchNormTrainForward } from './batchnorm.js';
import { matmul } from './matmul.js';
import { relu, reluBackward, sigmoid, sigmoidBackward, tanh, tanhBackward } from './activations.js';

/** The reference backend: complete by construction (typed as `Kernels`, not `Partial`). */
export const refKernels: Kernels = {
  batchNormTrainForward,
  batchNormInferForward,
  batchNormBackward,
  matmul,
  sigmoid,
  sigmoidBackward,
  relu,
  reluBackward,
  tanh,
  tanhBackward,
};
