// A strict consumer of the library's published types, dist/src/*.d.ts (compiled by test/package.test.ts with strict,
// exactOptionalPropertyTypes and noUncheckedIndexedAccess; never run). Each line is something a
// user writes; the @ts-expect-error lines are mistakes the types must catch.
import {
  Adam, BatchNorm1d, exportOnnx, Linear, Module, randn, ready, Sequential, SGD, zeros,
  type AdamHyper, type BackendInfo, type GradFn, type Hyperparameters, type KernelName, type Parameter, type RNG, type SGDOptions,
  type SgdHyper, type Shape, type ShapeArgs, type Tensor, type TrainerOptions,
} from '../../dist/src/index.js';

// Options forwarded from optional arguments: undefined means the default, as at runtime.
export const makeBn = (n: number, momentum?: number, eps?: number) => new BatchNorm1d(n, { momentum, eps });
export const makeLinear = (i: number, o: number, rng?: RNG) => new Linear(i, o, { rng });
export const makeSgd = (p: Parameter[], lr: number, weightDecay?: number) => new SGD(p, { lr, weightDecay });
export const groups = (a: Parameter[], b: Parameter[], wd?: number) => new SGD([{ params: a, weightDecay: wd }, { params: b }], { lr: 0.1 });

// Read-only shapes and tuples, as Tensor.shape and `as const` give them.
const x = randn([1, 4]);
const model = new Sequential(new Linear(4, 2), new BatchNorm1d(2)).eval();
exportOnnx(model, x.shape);
exportOnnx(model, [1, 4] as const);
const adam = new Adam(model.parameters(), { betas: [0.9, 0.999] as const });
// A group's hyperparameters are all there.
export const lr: number = adam.paramGroups[0]!.lr;
export const hyper: Hyperparameters<SGDOptions> = { lr: 0.1, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false };

// Custom modules: registerBuffer takes a field's name.
export class Counter extends Module {
  stepCount: Tensor = zeros([]);
  constructor() {
    super();
    this.registerBuffer('stepCount');
    // @ts-expect-error PyTorch's snake_case key is no field
    this.registerBuffer('step_count');
  }
  forward(input: Tensor): Tensor {
    return input;
  }
}

// PyTorch spellings are compile errors.
// @ts-expect-error trackRunningStats
export const typo = new BatchNorm1d(3, { track_running_stats: false });

// The types behind public signatures can be named.
export type Named = [AdamHyper, GradFn, KernelName, SgdHyper, Shape, ShapeArgs<{ dtype?: 'float32' }>, TrainerOptions];

// The thread workers started (or refused) before the thread count is read.
export const started: Promise<number> = ready().then((info: BackendInfo) => info.threads);
