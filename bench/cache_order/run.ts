/**
 * Can a BatchNorm training forward beat "read x, then read x again and write y" by reading each
 * channel twice while it is in cache? Times the memory-order two passes against channel-order
 * and channel-group-order variants on one thread, with the copy floor and a read-only pass, on
 * the two shapes of BENCHMARKS.md. Medians of round-robin rounds after a warm-up.
 *   npx tsx bench/cache_order/run.ts [--rounds 25]
 */
import asc from 'assemblyscript/asc';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '25' } } });
const rounds = Number(values.rounds);
let binary: Uint8Array | null = null;
const { error, stderr } = await asc.main(
  [fileURLToPath(new URL('./kernels.ts', import.meta.url)), '--outFile', 'k.wasm', '-O3', '--noAssert', '--runtime', 'stub', '--importMemory', '--enable', 'simd'],
  { writeFile(name: string, contents: Uint8Array) { if (name.endsWith('.wasm')) binary = contents; } },
);
if (error || !binary) throw new Error(`asc failed: ${stderr.toString()}`);
const module = new WebAssembly.Module(binary);

type Fn = (...a: number[]) => number;
for (const [n, c, h, w] of [[32, 64, 56, 56], [256, 128, 28, 28]]) {
  const s = h * w, size = n * c * s;
  const X = 65536, Y = X + size * 4;
  const memory = new WebAssembly.Memory({ initial: Math.ceil((Y + size * 4) / 65536) + 1 });
  const e = new WebAssembly.Instance(module, { env: { memory, abort() {} } }).exports as Record<string, Fn>;
  const x = new Float32Array(memory.buffer, X, size);
  for (let i = 0; i < size; i++) x[i] = (i % 97) * 0.01;
  new Float32Array(memory.buffer, Y, size).fill(1); // y's pages mapped before timing
  const cases: [string, () => void][] = [
    ['read x', () => e.readAll(X, size)],
    ['copy (floor)', () => e.copyAll(X, Y, size)],
    ['memory order, 2 passes', () => e.twoPass(X, Y, size)],
    ['channel order', () => e.channelOrder(X, Y, n, c, s, 1)],
    ['channel order, 4 runs side by side', () => e.channelOrder(X, Y, n, c, s, 4)],
    ['groups of 4 channels', () => e.groupOrder(X, Y, n, c, s, 4)],
    ['groups of 16 channels', () => e.groupOrder(X, Y, n, c, s, 16)],
  ];
  const times: number[][] = cases.map(() => []);
  for (let r = 0; r < rounds + 3; r++) {
    cases.forEach(([, f], i) => {
      f(); // back to back, as in a training step
      const t0 = performance.now();
      f();
      if (r >= 3) times[i]!.push(performance.now() - t0);
    });
  }
  const median = (a: number[]) => [...a].sort((p, q) => p - q)[a.length >> 1]!;
  const floor = median(times[1]!), twoPass = median(times[2]!);
  console.log(`\n[${n},${c},${h},${w}] float32, 1 thread, median ms of ${rounds} rounds`);
  console.log('| variant | ms | / floor | / memory order |\n|---|---|---|---|');
  cases.forEach(([label], i) => {
    const m = median(times[i]!);
    console.log(`| ${label} | ${m.toFixed(2)} | ${(m / floor).toFixed(2)}x | ${(m / twoPass).toFixed(2)}x |`);
  });
}
