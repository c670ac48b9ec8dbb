import { allocateStorage, releaseStorage } from '../kernels/index.js';
import type { FloatArray } from '../kernels/types.js';
import type { Tensor } from '../tensor/tensor.js';
import { trackOutput } from '../tensor/tidy.js';
import { isThenable } from '../describe.js';

/**
 * Reverse-mode automatic differentiation, micrograd style: every op that may need a gradient
 * records, next to the output it builds, a `GradFn` holding its inputs and a closure that maps
 * the output's gradient to its inputs' gradients. `backward` walks the recorded graph in
 * reverse topological order.
 */
export interface GradFn {
  /** The op's name, for error messages and debugging (`AddBackward`, ...). */
  readonly name: string;
  readonly inputs: readonly Tensor[];
  /** Gradients for each input, or null for inputs that do not require one. */
  backward(gradOutput: FloatArray): (FloatArray | null)[];
  /** The inputs whose values the backward reads, with their versions at the forward. */
  readonly saved: readonly { tensor: Tensor; version: number }[];
  /** Set when a backward walked this node without `retainGraph`: a second walk is an error. */
  freed?: boolean;
}

let gradEnabled = true;

/** Whether ops currently record gradients (false inside `noGrad`). */
export function isGradEnabled(): boolean {
  return gradEnabled;
}

/**
 * Runs `fn` without recording gradients (PyTorch: `with torch.no_grad():`).
 * Nesting is allowed; the previous state is restored even if `fn` throws. `fn` must be
 * synchronous: after an `await` the rest of an async function would run with gradients
 * recorded again, so a Promise returned is an error.
 */
export function noGrad<T>(fn: () => T): T {
  const previous = gradEnabled;
  gradEnabled = false;
  let result: T;
  try {
    result = fn();
  } finally {
    gradEnabled = previous;
  }
  if (isThenable(result)) {
    throw new TypeError('noGrad: fn must be synchronous (it returned a Promise: after its first await, ops record gradients again); await outside, noGrad(() => model.forward(x)) inside');
  }
  return result;
}

/**
 * Attaches a backward closure to `out` if gradients are being recorded and any input requires
 * one. Returns `out` so an op can end with `return record(out, ...)`. `saved` lists the inputs
 * whose values the backward reads (all of them unless the op says otherwise: add's gradient
 * does not read its inputs, mul's does); changing one in place before the backward is an error.
 */
export function record(
  out: Tensor, name: string, inputs: readonly Tensor[],
  backward: (gradOutput: FloatArray) => (FloatArray | null)[],
  saved: readonly Tensor[] = inputs,
): Tensor {
  trackOutput(out, inputs.some((t) => !t.isDisposed && t.data === out.data));
  if (gradEnabled && inputs.some((t) => t.requiresGrad)) {
    out.requiresGrad = true;
    out.gradFn = { name, inputs, backward, saved: saved.map((tensor) => ({ tensor, version: tensor.version })) };
  }
  return out;
}

/** PyTorch's errors for a graph that cannot be walked: freed by an earlier backward, or a saved input changed in place. */
function checkWalkable(fn: GradFn): void {
  if (fn.freed) {
    throw new Error(
      `Trying to backward through the graph a second time (${fn.name}). The graph is freed when you call .backward(); ` +
        'pass { retainGraph: true } to the first backward if you need to backward through it again (or compute the loss again)',
    );
  }
  for (const { tensor, version } of fn.saved) {
    if (tensor.version !== version) {
      throw new Error(
        `one of the variables needed for gradient computation has been modified by an inplace operation: ` +
          `${tensor.describe()}, an input of ${fn.name}, is at version ${tensor.version}; expected version ${version} instead ` +
          '(an optimizer step or a load between this forward and its backward? Compute the loss again after the change)',
      );
    }
  }
}

/** Reverse topological order of the graph below `root` (iterative: deep nets must not overflow the stack). */
function reverseTopologicalOrder(root: Tensor): Tensor[] {
  const order: Tensor[] = [];
  const visited = new Set<Tensor>();
  const stack: [Tensor, boolean][] = [[root, false]];
  while (stack.length > 0) {
    const [node, expanded] = stack.pop()!;
    if (expanded) {
      order.push(node);
      continue;
    }
    if (visited.has(node)) continue;
    visited.add(node);
    stack.push([node, true]);
    for (const input of node.gradFn?.inputs ?? []) {
      if (input.requiresGrad && !visited.has(input)) stack.push([input, false]);
    }
  }
  return order.reverse();
}

function copyOf(a: FloatArray): FloatArray {
  const out = allocateStorage(a instanceof Float32Array, a.length);
  out.set(a);
  return out;
}

/**
 * Back-propagates `gradRoot` (the gradient of some scalar with respect to `root`) and hands
 * each leaf tensor that requires a gradient its gradient through `accumulate`, which returns
 * whether it kept the array (as the leaf's `.grad`) or only read it.
 *
 * Intermediate gradients never leave this function, so each is released to the backend as
 * soon as it has been used (in a synchronous training loop the garbage collector would not
 * return them in time, see src/kernels/wasm/runtime.ts).
 */
export function backward(
  root: Tensor, gradRoot: FloatArray, retainGraph: boolean, accumulate: (leaf: Tensor, grad: FloatArray) => boolean,
): void {
  const order = reverseTopologicalOrder(root);
  // Checked before any gradient is computed or accumulated, so a refused backward changes nothing.
  for (const node of order) if (node.gradFn) checkWalkable(node.gradFn);
  const grads = new Map<Tensor, FloatArray>([[root, gradRoot]]);
  for (const node of order) {
    const g = grads.get(node);
    if (!g) continue;
    grads.delete(node);
    if (!node.gradFn) {
      if (!accumulate(node, g)) releaseStorage(g);
      continue;
    }
    for (const input of node.gradFn.inputs) {
      if (input.isDisposed) {
        throw new Error(`${node.gradFn.name}: an input of this op was released by tidy() before backward() (call backward inside the tidy scope)`);
      }
    }
    const inputGrads = node.gradFn.backward(g);
    node.gradFn.inputs.forEach((input, i) => {
      const gi = inputGrads[i];
      if (!gi || !input.requiresGrad) return;
      if (gi.length !== input.size) {
        throw new Error(`${node.gradFn!.name} returned a gradient of ${gi.length} elements for an input of ${input.size}`);
      }
      // An op may hand back the very array it was given (AddBackward passes g through), or
      // one array for two inputs: those are shared, the rest belong to this walk.
      const shared = gi === g || inputGrads.indexOf(gi) !== i;
      const existing = grads.get(input);
      if (existing) {
        for (let k = 0; k < gi.length; k++) existing[k] += gi[k];
        if (!shared) releaseStorage(gi);
      } else {
        grads.set(input, shared ? copyOf(gi) : gi);
      }
    });
    releaseStorage(g);
  }
  if (!retainGraph) for (const node of order) if (node.gradFn) node.gradFn.freed = true;
}
