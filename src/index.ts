/**
 * batchnorm: Batch Normalization for TypeScript with PyTorch's semantics.
 * @example
 * import { BatchNorm1d, Linear, Sequential, Sigmoid, SGD, crossEntropy, randn } from 'batchnorm';
 * const model = new Sequential(new Linear(784, 100), new BatchNorm1d(100), new Sigmoid(), new Linear(100, 10));
 * const opt = new SGD(model.parameters(), { lr: 0.5 });
 * const loss = crossEntropy(model.forward(x), labels);
 * opt.zeroGrad(); loss.backward(); opt.step();
 */
export { Tensor, tensor, zeros, ones, full, randn, rand, allocate } from './tensor/tensor.js';
export type { DType, NestedArray, TensorOptions, RandomOptions } from './tensor/tensor.js';
export type { Shape, ShapeArgs } from './tensor/shape.js';
export { noGrad, isGradEnabled, type GradFn } from './autograd/tape.js';
export { tidy, keep } from './tensor/tidy.js';
export { RNG, manualSeed, getDefaultRng } from './random.js';
export * from './ops/index.js';
export { Module, Parameter, type StateDict, type LoadStateDictOptions } from './nn/module.js';
export { Linear, type LinearOptions } from './nn/linear.js';
export { Sigmoid, ReLU, Tanh, Flatten } from './nn/activation.js';
export { ModuleList, Sequential } from './nn/sequential.js';
export { Conv2d, MaxPool2d, type Conv2dModuleOptions } from './nn/conv.js';
export { BatchNorm, BatchNorm1d, BatchNorm2d, BatchNorm3d, type BatchNormOptions } from './nn/batchnorm.js';
export { CrossEntropyLoss, MSELoss } from './nn/loss.js';
export { Optimizer, type Hyperparameters, type ParamGroup, type ParamGroupInput } from './optim/optimizer.js';
export { SGD, type SGDOptions } from './optim/sgd.js';
export { Adam, type AdamOptions } from './optim/adam.js';
export { setBackend, getBackend, listBackends, registerBackend, kernels, refKernels, backendInfo, ready, type BackendInfo } from './kernels/index.js';
export { setNumThreads, getNumThreads } from './kernels/index.js';
export type { AdamHyper, Backend, BNDims, FloatArray, KernelName, Kernels, SgdHyper } from './kernels/index.js';
export type { Conv2dDims, Pool2dDims } from './kernels/index.js';
export { loadSafetensors, saveSafetensors, serializeSafetensors, parseSafetensors, type SafetensorsContents } from './io/safetensors.js';
export { writeFileAtomic } from './io/atomic.js';
export { saveCheckpoint, loadCheckpoint, serializeCheckpoint, checkpointMetadata, describeModel, buildModel, readArchitecture, ARCHITECTURE_KEY, type ArchitectureSpec, type LayerSpec } from './io/checkpoint.js';
export { Identity } from './nn/identity.js';
export { foldBatchNorm, cloneModel } from './nn/fold.js';
export { freezeBatchNorm, unfreezeBatchNorm } from './nn/freeze.js';
export { updateBn, type BnBatch } from './nn/updateBn.js';
export { exportOnnx, decodeOnnx, ONNX_OPSET, type ExportOnnxOptions } from './io/onnx.js';
export { kerasBatchNorm, loadKerasBatchNorm, toKerasBatchNorm, type KerasBatchNormConfig, type KerasWeight } from './io/keras.js';
export { inspectWeights, type WeightsReport, type BatchNormSummary, type TensorSummary } from './io/inspect.js';
export { parseIdx, toImageSet, type IdxArray, type ImageSet, type ImageSetOptions } from './data/idx.js';
export { loadMnist, mnistDataDir, FASHION_MNIST_DIR, type DatasetName, type LoadMnistOptions, type MnistData } from './data/mnist.js';
export { BatchSampler, gatherBatch } from './data/batches.js';
export { createMlpTrainer, run as runMlp, buildMlp, defaultMlpConfig, percentile, type MlpConfig, type MlpData, type MlpTrainer, type TrainerOptions, type MlpMetrics, type MlpHooks, type MlpProgress, type CurvePoint, type PercentilePoint, type Divergence, type BnPlacement } from './experiments/mnistMlp.js';
export { figure1Runs, placementRuns, lrSweepRuns, runLrSweep, classifyRun, santurkarRuns, depthRuns, usualInit, LANDSCAPE_LR_MULTIPLES, type LrSweepConfig, type SweepEntry, type SweepOutcome } from './experiments/mlpVariants.js';
export { ActivationNoise, probeLandscape, summarizeLandscape, santurkarSummary, type LandscapePoint } from './experiments/santurkar.js';
export { createConvnetTrainer, run as runConvnet, buildConvnet, convnetRuns, convnetSweepRuns, summarizeSeeds, defaultConvnetConfig, type ConvnetConfig, type ConvnetMetrics, type ConvnetTrainer, type ConvnetHooks, type SeedSummary } from './experiments/convnet.js';
