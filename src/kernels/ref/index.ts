import type { Kernels } from '../types.js';
import { batchNormBackward, batchNormInferForward, batchNormTrainForward } from './batchnorm.js';
import { columnSums, matmul } from './matmul.js';
import { adamStep, sgdStep } from './optim.js';
import { batchNormBackwardNHWC, batchNormInferForwardNHWC, batchNormTrainForwardNHWC } from './batchnormNHWC.js';
import { relu, reluBackward, sigmoid, sigmoidBackward, tanh, tanhBackward } from './activations.js';
import { conv2dBackward, conv2dForward, maxPool2dBackward, maxPool2dForward } from './conv.js';

/** The reference backend: complete by construction (typed as `Kernels`, not `Partial`). */
export const refKernels: Kernels = {
  batchNormTrainForward,
  batchNormInferForward,
  batchNormBackward,
  batchNormTrainForwardNHWC,
  batchNormInferForwardNHWC,
  batchNormBackwardNHWC,
  matmul,
  conv2dForward,
  conv2dBackward,
  maxPool2dForward,
  maxPool2dBackward,
  sigmoid,
  sigmoidBackward,
  relu,
  reluBackward,
  tanh,
  tanhBackward,
  columnSums,
  sgdStep,
  adamStep,
};
