import { backward as runBackward, type GradFn } from '../autograd/tape.js';
import type { FloatArray } from '../kernels/types.js';
import { allocateStorage, releaseStorage } from '../kernels/index.js';
import { getDefaultRng, type RNG } from '../random.js';
import * as ops from '../ops/index.js';
import { checkOptions, className } from '../describe.js';
import { checkShape, formatShape, sameShape, shapeArgs, sizeOf, type Shape, type ShapeArgs } from './shape.js';
import { formatValues } from './format.js';
import { trackOutput, trackStorage } from './tidy.js';

/**
 * Element types. `float32` is the default (PyTorch's default); `float64` exists for gradient
 * checks and references; `int64` holds counters such as `num_batches_tracked` (stored in a
 * Float64Array: exact for integers up to 2^53).
 */
export type DType = 'float32' | 'float64' | 'int64';

const DTYPES: readonly string[] = ['float32', 'float64', 'int64'];

export function checkDtype(dtype: unknown): DType {
  if (typeof dtype !== 'string' || !DTYPES.includes(dtype)) {
    const got = typeof dtype === 'string' ? `'${dtype}'` : String(dtype);
    throw new TypeError(`dtype must be one of 'float32', 'float64', 'int64' (got ${got})`);
  }
  return dtype as DType;
}

/**
 * Zero-filled storage for `size` elements of `dtype`: the single allocation point for tensor
 * data. The active backend provides it (the `wasm` backend places it in WebAssembly memory so
 * its kernels run without copying; the block returns to a free list when the array is garbage
 * collected, so keep the Tensor or its `data` array, not only a `subarray` of it).
 */
export function allocate(dtype: DType, size: number): FloatArray {
  const a = allocateStorage(dtype === 'float32', size);
  trackStorage(a);
  return a;
}

/**
 * Storage a kernel is about to overwrite entirely (an op's output or gradient): as `allocate`,
 * but a reused block is not zeroed first. Only for arrays every element of which is written.
 */
export function allocateOutput(dtype: DType, size: number): FloatArray {
  const a = allocateStorage(dtype === 'float32', size, false);
  trackStorage(a);
  return a;
}

/** The keys of `TensorOptions`, for the check of a creation function's options. */
const TENSOR_OPTIONS = ['dtype', 'requiresGrad'] as const;

export interface TensorOptions {
  /** Element type, `float32` by default. */
  dtype?: DType | undefined;
  /** Record operations on this tensor so `backward` can compute `.grad` for it. */
  requiresGrad?: boolean | undefined;
}

/** Nested arrays of numbers, as in `tensor([[1, 2], [3, 4]])`. */
export type NestedArray = number | readonly NestedArray[];

/**
 * An n-dimensional array of numbers: row-major contiguous storage (`data`) and a `shape`.
 * Operations on tensors that require a gradient are recorded, so `y.backward()` fills
 * `x.grad` for every leaf `x` with `requiresGrad` (PyTorch's autograd).
 */
export class Tensor {
  static readonly displayName: string = 'Tensor';
  #data: FloatArray | null;
  /** Size of each dimension, e.g. `[N, C, H, W]`. */
  readonly shape: readonly number[];
  #dtype: DType;
  /** Whether gradients flow to (leaf) or through (result) this tensor. */
  requiresGrad: boolean;
  #grad: Tensor | null = null;
  // Whether #grad may be referenced outside the library (it was read through `.grad`, or set
  // by the caller). If not, `clearGrad` can hand its storage straight back to the allocator.
  #gradSeen = false;
  /** @internal The op that produced this tensor, when recorded for autograd. */
  gradFn: GradFn | null = null;
  // PyTorch's version counter: in-place changes (an optimizer step, loadStateDict) count up, and
  // backward refuses an op whose saved inputs changed since the forward. Views share the box.
  #version = { value: 0 };

  constructor(data: FloatArray, shape: Shape, dtype?: DType, requiresGrad = false) {
    const s = checkShape(shape);
    if (data.length !== sizeOf(s)) {
      throw new RangeError(`shape '${formatShape(s)}' is invalid for input of size ${data.length}`);
    }
    this.#dtype = dtype === undefined ? (data instanceof Float32Array ? 'float32' : 'float64') : checkDtype(dtype);
    if ((this.#dtype === 'float32') !== data instanceof Float32Array) {
      throw new TypeError(`dtype ${this.#dtype} does not match storage ${className(data)}`);
    }
    if (requiresGrad && this.#dtype === 'int64') {
      throw new TypeError('only floating point tensors can require gradients (got dtype int64)');
    }
    this.#data = data;
    this.shape = Object.freeze(s);
    this.requiresGrad = requiresGrad;
  }

  /** Row-major contiguous elements (the tensor's own storage: writes change the tensor). */
  get data(): FloatArray {
    const d = this.#data;
    if (d === null) {
      throw new Error(`${this.describe()} is disposed: its storage was released at the end of a tidy() scope (return the tensor from tidy, or keep() it)`);
    }
    return d;
  }

  /** The element type: 'float32', 'float64' or 'int64' (integers stored in a Float64Array). */
  get dtype(): DType {
    return this.#dtype;
  }

  /**
   * @internal For `Module.to`: replaces the storage (and the gradient's) by a copy in `dtype`,
   * keeping this object, as PyTorch's `module.to(dtype)` sets `param.data` and `param.grad.data`.
   * Views made earlier (`detach()`) keep the old storage.
   */
  convertInPlace(dtype: 'float32' | 'float64'): void {
    if (this.#dtype === dtype) return;
    const data = allocate(dtype, this.size);
    data.set(this.data);
    this.#data = data;
    this.#dtype = dtype;
    this.bumpVersion();
    this.#grad?.convertInPlace(dtype);
  }

  /**
   * How many times the library changed this tensor's values in place (PyTorch's `t._version`):
   * optimizer steps, `loadStateDict`, `to(dtype)` on a module. Writes through `.data` are not
   * counted (PyTorch's `.data` is not either).
   */
  get version(): number {
    return this.#version.value;
  }

  /** @internal Counts an in-place change of the values (see `version`). */
  bumpVersion(): void {
    this.#version.value++;
  }

  /** @internal This tensor is a view of `base` (same storage): it shares base's version counter. */
  shareVersion(base: Tensor): this {
    this.#version = base.#version;
    return this;
  }

  /** Whether the tensor's storage was released (by `tidy`); a disposed tensor cannot be used. */
  get isDisposed(): boolean {
    return this.#data === null;
  }

  /** @internal Marks the tensor disposed (its storage is being released by `tidy`). */
  markDisposed(): void {
    this.#data = null;
  }

  /** The accumulated gradient of a leaf after `backward()`, else null. */
  get grad(): Tensor | null {
    this.#gradSeen = true;
    return this.#grad;
  }

  set grad(g: Tensor | null) {
    this.#grad = g;
    this.#gradSeen = true;
  }

  /** @internal The gradient, for library code that does not hold on to it (the optimizers). */
  peekGrad(): Tensor | null {
    return this.#grad;
  }

  /**
   * @internal Sets the gradient to null (PyTorch's `zero_grad(set_to_none=True)`). A gradient
   * nobody outside the library has read is released to the allocator at once, so the next
   * `backward()` reuses its memory instead of touching fresh pages.
   */
  clearGrad(): void {
    const g = this.#grad;
    this.#grad = null;
    if (g !== null && !this.#gradSeen && g.#data !== null) {
      releaseStorage(g.#data);
      g.#data = null;
    }
  }

  /** Number of elements. */
  get size(): number {
    return this.data.length;
  }

  /** Number of dimensions. */
  get ndim(): number {
    return this.shape.length;
  }

  /** PyTorch's `numel()`. */
  numel(): number {
    return this.data.length;
  }

  /** The value of a one-element tensor. */
  item(): number {
    if (this.size !== 1) {
      throw new RangeError(`a Tensor with ${this.size} elements cannot be converted to Scalar`);
    }
    return this.data[0];
  }

  /** The values as nested arrays (a number for a 0-d tensor). */
  toArray(): NestedArray {
    const build = (dim: number, offset: number): NestedArray => {
      if (dim === this.shape.length) return this.data[offset];
      const inner = sizeOf(this.shape.slice(dim + 1));
      return Array.from({ length: this.shape[dim] }, (_, i) => build(dim + 1, offset + i * inner));
    };
    return build(0, 0);
  }

  /** A copy sharing nothing, outside the graph. */
  clone(): Tensor {
    return new Tensor(this.data.slice(), this.shape, this.dtype, false);
  }

  /** The same storage, cut from the graph (PyTorch's `detach()`). */
  detach(): Tensor {
    const t = new Tensor(this.data, this.shape, this.dtype, false).shareVersion(this);
    trackOutput(t, true); // shares the storage: disposed with it by an enclosing tidy
    return t;
  }

  /** Sets `requiresGrad` in place and returns this tensor (PyTorch's `requires_grad_()`). */
  requiresGrad_(value = true): this {
    if (value && this.dtype === 'int64') {
      throw new TypeError('only floating point tensors can require gradients (got dtype int64)');
    }
    this.requiresGrad = value;
    return this;
  }

  /**
   * Computes the gradient of this tensor with respect to every leaf that requires one and
   * accumulates it into their `.grad`. `grad` defaults to 1 for a one-element tensor.
   * As in PyTorch, the graph can be walked once: a second `backward` through it is an error
   * unless the first passed `{ retainGraph: true }` (`loss.backward(retain_graph=True)`).
   */
  backward(grad?: Tensor, options: { retainGraph?: boolean } = {}): void {
    checkOptions('backward', options, ['retainGraph']);
    if (!this.requiresGrad) {
      throw new Error('element 0 of tensors does not require grad and does not have a grad_fn');
    }
    let g: FloatArray;
    if (grad === undefined) {
      if (this.size !== 1) throw new Error('grad can be implicitly created only for scalar outputs');
      g = allocate(this.dtype, 1).fill(1);
    } else {
      if (!sameShape(grad.shape, this.shape)) {
        throw new RangeError(
          `Mismatch in shape: grad_output[0] has a shape of ${formatShape(grad.shape)} and output[0] has a shape of ${formatShape(this.shape)}`,
        );
      }
      g = allocate(this.dtype, this.size);
      g.set(grad.data);
    }
    runBackward(this, g, options.retainGraph === true, (leaf, gl) => {
      if (leaf.#grad) {
        const acc = leaf.#grad.data;
        for (let i = 0; i < acc.length; i++) acc[i] += gl[i];
        return false;
      }
      leaf.#grad = new Tensor(gl, leaf.shape, leaf.dtype);
      leaf.#gradSeen = false;
      return true;
    });
  }

  // Methods mirror PyTorch's; each is a thin call into src/ops, where forward and gradient live.
  add(other: Tensor | number): Tensor { return ops.add(this, other); }
  sub(other: Tensor | number): Tensor { return ops.sub(this, other); }
  mul(other: Tensor | number): Tensor { return ops.mul(this, other); }
  div(other: Tensor | number): Tensor { return ops.div(this, other); }
  neg(): Tensor { return ops.neg(this); }
  pow(exponent: number): Tensor { return ops.pow(this, exponent); }
  sqrt(): Tensor { return ops.sqrt(this); }
  exp(): Tensor { return ops.exp(this); }
  log(): Tensor { return ops.log(this); }
  matmul(other: Tensor): Tensor { return ops.matmul(this, other); }
  sum(dim?: number | number[], keepdim = false): Tensor { return ops.sum(this, dim, keepdim); }
  mean(dim?: number | number[], keepdim = false): Tensor { return ops.mean(this, dim, keepdim); }
  /** `x.reshape(2, 3)` or `x.reshape([2, 3])`; one size may be -1 (inferred). */
  reshape(...shape: number[] | [readonly number[]]): Tensor { return ops.reshape(this, shapeArg(shape)); }
  /** PyTorch's `view`: storage is always contiguous here, so it is `reshape`. */
  view(...shape: number[] | [readonly number[]]): Tensor { return ops.reshape(this, shapeArg(shape)); }
  flatten(startDim = 0, endDim = -1): Tensor { return ops.flatten(this, startDim, endDim); }
  transpose(dim0: number, dim1: number): Tensor { return ops.transpose(this, dim0, dim1); }
  /** `x.permute(2, 0, 1)` or `x.permute([2, 0, 1])`: output dim i is input dim dims[i] (TF.js's `tf.transpose(x, perm)`). */
  permute(...dims: number[] | [readonly number[]]): Tensor { return ops.permute(this, shapeArg(dims)); }
  /** Transpose of a 2-D tensor. */
  t(): Tensor {
    if (this.ndim !== 2) throw new RangeError(`t() expects a tensor with <= 2 dimensions, but self is ${this.ndim}D`);
    return ops.transpose(this, 0, 1);
  }
  sigmoid(): Tensor { return ops.sigmoid(this); }
  relu(): Tensor { return ops.relu(this); }
  tanh(): Tensor { return ops.tanh(this); }
  logSoftmax(dim: number): Tensor { return ops.logSoftmax(this, dim); }
  /** This tensor in `dtype` (PyTorch's `x.to(torch.float64)`): itself if it has that dtype already. */
  to(dtype: DType): Tensor { return ops.cast(this, dtype); }
  /** PyTorch's `double()`: `to('float64')`. */
  double(): Tensor { return ops.cast(this, 'float64'); }
  /** PyTorch's `float()`: `to('float32')`. */
  float(): Tensor { return ops.cast(this, 'float32'); }

  /** Shape, dtype and state without the values: `Tensor(shape=[2, 3], dtype=float32, requiresGrad)`. */
  describe(): string {
    return `Tensor(shape=${formatShape(this.shape)}, dtype=${this.dtype}${this.requiresGrad ? ', requiresGrad' : ''}${this.#data === null ? ', disposed' : ''})`;
  }

  /**
   * The values as PyTorch prints them (`print(t)`), also what `console.log(t)` shows in Node:
   * `tensor([[ 0.1000,  2.0000], [ 3.0000, -4.0000]])` over lines, the dtype unless float32,
   * `requiresGrad=true` or the `gradFn`; more than 1000 elements are summarised with `...`.
   */
  toString(): string {
    if (this.#data === null) return this.describe();
    const values = this.size === 0 ? '[]' : formatValues(this.#data, this.shape, this.#dtype === 'int64', 'tensor('.length);
    const extras = [
      ...(this.size === 0 && this.ndim !== 1 ? [`shape=${formatShape(this.shape)}`] : []),
      ...(this.#dtype !== 'float32' ? [`dtype=${this.#dtype}`] : []),
      ...(this.gradFn ? [`gradFn=<${this.gradFn.name}>`] : this.requiresGrad ? ['requiresGrad=true'] : []),
    ];
    return `tensor(${[values, ...extras].join(', ')})`;
  }

  /** `console.log(t)` in Node prints `toString()`, as `print(t)` in PyTorch. */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }
}

function inferShape(data: NestedArray): number[] {
  const shape: number[] = [];
  let level: NestedArray = data;
  while (Array.isArray(level)) {
    shape.push(level.length);
    if (level.length === 0) break;
    level = level[0];
  }
  return shape;
}

function flattenNested(data: NestedArray, shape: number[], out: number[], dim = 0): void {
  if (dim === shape.length) {
    if (typeof data !== 'number') throw new TypeError(`expected a number at depth ${dim} (got ${typeof data})`);
    out.push(data);
    return;
  }
  if (!Array.isArray(data) || data.length !== shape[dim]) {
    throw new RangeError(
      `expected sequence of length ${shape[dim]} at dim ${dim} (got ${Array.isArray(data) ? data.length : typeof data})`,
    );
  }
  for (const item of data) flattenNested(item, shape, out, dim + 1);
}

/** The sizes of `x.reshape(2, 3)` or `x.reshape([2, 3])`, as PyTorch takes both. */
function shapeArg(args: number[] | [readonly number[]]): number[] {
  return args.length === 1 && Array.isArray(args[0]) ? [...args[0]] : (args as number[]);
}

/**
 * Creates a tensor, like `torch.tensor`. The dtype is `options.dtype`, else float64 for a
 * Float64Array (as PyTorch keeps a float64 numpy array's type), else float32.
 * @example
 * tensor([[1, 2], [3, 4]])                  // shape [2, 2], inferred
 * tensor([1, 2], { requiresGrad: true })    // options without a shape
 * tensor([1, 2, 3, 4, 5, 6], [2, 3])        // flat data plus a shape
 * tensor(new Float32Array(6), [2, 3], { requiresGrad: true })
 */
export function tensor(data: NestedArray | ArrayLike<number>, options?: TensorOptions): Tensor;
export function tensor(data: NestedArray | ArrayLike<number>, shape?: Shape, options?: TensorOptions): Tensor;
export function tensor(
  data: NestedArray | ArrayLike<number>,
  shapeOrOptions?: Shape | TensorOptions,
  maybeOptions: TensorOptions = {},
): Tensor {
  const optionsSecond = typeof shapeOrOptions === 'object' && shapeOrOptions !== null && !Array.isArray(shapeOrOptions);
  const shape = optionsSecond ? undefined : (shapeOrOptions as Shape | undefined);
  const options = optionsSecond ? (shapeOrOptions as TensorOptions) : maybeOptions;
  checkOptions('tensor()', options, TENSOR_OPTIONS);
  const dtype = options.dtype === undefined ? (data instanceof Float64Array ? 'float64' : 'float32') : checkDtype(options.dtype);
  let flat: ArrayLike<number>;
  let s: number[];
  if (typeof data === 'number') {
    flat = [data];
    s = shape ? checkShape(shape) : [];
  } else if (Array.isArray(data) && shape === undefined) {
    s = inferShape(data as NestedArray);
    const out: number[] = [];
    flattenNested(data as NestedArray, s, out);
    flat = out;
  } else {
    if (data === null || typeof data !== 'object' || typeof (data as ArrayLike<number>).length !== 'number') {
      throw new TypeError(`tensor(): expected a number, nested arrays of numbers or a typed array (got ${data === null ? 'null' : typeof data})`);
    }
    flat = data as ArrayLike<number>;
    if (Array.isArray(flat) && flat.some((v) => typeof v !== 'number')) {
      throw new TypeError('with an explicit shape, data must be a flat array of numbers');
    }
    s = shape ? checkShape(shape) : [flat.length];
  }
  if (flat.length !== sizeOf(s)) {
    throw new RangeError(`shape '${formatShape(s)}' is invalid for input of size ${flat.length}`);
  }
  const storage = allocate(dtype, flat.length);
  storage.set(flat);
  return new Tensor(storage, s, dtype, options.requiresGrad ?? false);
}

/** A tensor filled with `value`. */
export function full(shape: Shape, value: number, options: TensorOptions = {}): Tensor {
  checkOptions('full()', options, TENSOR_OPTIONS);
  const s = checkShape(shape);
  const dtype = checkDtype(options.dtype ?? 'float32');
  return new Tensor(allocate(dtype, sizeOf(s)).fill(value), s, dtype, options.requiresGrad ?? false);
}

/** Zeros, like `torch.zeros`: `zeros([2, 3])`, `zeros(2, 3)`, `zeros(2, 3, { dtype: 'float64' })`. */
export function zeros(...args: ShapeArgs<TensorOptions>): Tensor {
  const [shape, options] = shapeArgs<TensorOptions>('zeros', args, TENSOR_OPTIONS);
  return full(shape, 0, options);
}

/** Ones, like `torch.ones`; the shape as in `zeros`. */
export function ones(...args: ShapeArgs<TensorOptions>): Tensor {
  const [shape, options] = shapeArgs<TensorOptions>('ones', args, TENSOR_OPTIONS);
  return full(shape, 1, options);
}

export interface RandomOptions extends TensorOptions {
  /** The generator to draw from (default: the global one, see `manualSeed`). */
  rng?: RNG | undefined;
}

/** Standard normal samples, like `torch.randn`, from a seeded generator; the shape as in `zeros`. */
export function randn(...args: ShapeArgs<RandomOptions>): Tensor {
  const [shape, { rng = getDefaultRng(), ...options }] = shapeArgs<RandomOptions>('randn', args, [...TENSOR_OPTIONS, 'rng']);
  const t = full(shape, 0, options);
  for (let i = 0; i < t.size; i++) t.data[i] = rng.normal();
  return t;
}

/** Uniform samples in [low, high), like `torch.rand` scaled; the shape as in `zeros`. */
export function rand(...args: ShapeArgs<RandomOptions & { low?: number; high?: number }>): Tensor {
  const [shape, { rng = getDefaultRng(), low = 0, high = 1, ...options }] = shapeArgs<RandomOptions & { low?: number; high?: number }>(
    'rand', args, [...TENSOR_OPTIONS, 'rng', 'low', 'high'],
  );
  const t = full(shape, 0, options);
  for (let i = 0; i < t.size; i++) t.data[i] = low + (high - low) * rng.uniform();
  return t;
}
