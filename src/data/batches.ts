import type { RNG } from '../random.js';
import type { ImageSet } from './idx.js';

/**
 * Mini-batch order: each epoch a fresh permutation of 0..n-1 drawn from a seeded RNG, cut into
 * batches of `batchSize` (a last partial batch is dropped, as `DataLoader(drop_last=True)`).
 * The same seed gives the same order, so a stopped run can replay it: `skip(steps)`.
 */
export class BatchSampler {
  static readonly displayName: string = 'BatchSampler';
  private readonly order: Int32Array;
  private position = 0;
  /** Permutations drawn so far (the epoch in progress is `epochs - 1`). */
  epochs = 0;

  constructor(
    readonly n: number,
    readonly batchSize: number,
    private readonly rng: RNG,
  ) {
    if (!Number.isInteger(batchSize) || batchSize <= 0) throw new RangeError(`batch size must be a positive integer (got ${batchSize})`);
    if (batchSize > n) throw new RangeError(`batch size ${batchSize} is larger than the dataset (${n} samples)`);
    this.order = new Int32Array(n);
    this.position = n; // the first call draws the first permutation
  }

  /** The indices of the next batch: a view, valid until the next call. */
  next(): Int32Array {
    if (this.position + this.batchSize > this.n) {
      for (let i = 0; i < this.n; i++) this.order[i] = i;
      this.rng.shuffle(this.order);
      this.position = 0;
      this.epochs++;
    }
    const batch = this.order.subarray(this.position, this.position + this.batchSize);
    this.position += this.batchSize;
    return batch;
  }

  /** Advances past `steps` batches (to resume a run where it stopped). */
  skip(steps: number): void {
    for (let i = 0; i < steps; i++) this.next();
  }
}

/**
 * Copies the samples `indices` of `set` into preallocated buffers: `x` (batch * pixels) and
 * `y` (batch class indices). No allocation, so a training loop can reuse them every step.
 */
export function gatherBatch(set: ImageSet, indices: ArrayLike<number>, x: Float32Array, y: Int32Array): void {
  const pixels = set.height * set.width;
  if (x.length < indices.length * pixels || y.length < indices.length) {
    throw new RangeError(`gatherBatch: buffers too small for ${indices.length} samples`);
  }
  for (let b = 0; b < indices.length; b++) {
    const i = indices[b];
    x.set(set.images.subarray(i * pixels, (i + 1) * pixels), b * pixels);
    y[b] = set.labels[i];
  }
}
