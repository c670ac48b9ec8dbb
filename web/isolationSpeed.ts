/**
 * Training speed of the drift section (section 3) in headless Chromium, with and without
 * cross-origin isolation: builds the lab, serves it with the COOP/COEP headers and without them,
 * trains for a while, and prints steps/s. A third build pins the training worker to one thread,
 * to tell what shared memory alone gives from what the second thread gives.
 * Usage: node --import tsx web/isolationSpeed.ts [seconds-per-run [rounds]]   (defaults: 20, 3)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Plugin } from 'vite';
import { CHROMIUM, hasChromium, launchChromium, serveStatic } from './e2e.js';

const seconds = Number(process.argv[2] ?? 20);
const rounds = Number(process.argv[3] ?? 3);
/** Training before the clock starts: JIT warm-up, the thread's start, the first evaluations. */
const WARMUP_MS = 5000;

if (!hasChromium()) {
  console.error(`no Chromium at ${CHROMIUM}: apt-get install -y chromium`);
  process.exit(1);
}

/** Appends `setNumThreads(1)` to the training worker (imports are hoisted: it runs before any message). */
const oneThread: Plugin = {
  name: 'one-thread-worker',
  transform(code, id) {
    if (!id.split('?')[0].endsWith('/web/worker.ts')) return null;
    return `${code}\nimport { setNumThreads as pinThreads } from '../src/kernels/index.js';\npinThreads(1);\n`;
  },
};

async function build(outDir: string, workerPlugins: Plugin[]): Promise<void> {
  const vite = await import('vite');
  await vite.build({
    configFile: fileURLToPath(new URL('./vite.config.ts', import.meta.url)),
    logLevel: 'error',
    worker: { plugins: () => workerPlugins }, // the worker is bundled by its own pipeline
    build: { outDir, emptyOutDir: true },
  });
}

const work = mkdtempSync(join(tmpdir(), 'batchnorm-speed-'));
try {
  await build(join(work, 'site'), []);
  await build(join(work, 'site-1t'), [oneThread]);
  const modes = [
    { name: 'isolated', site: 'site', isolated: true },
    { name: 'isolated, worker pinned to 1 thread', site: 'site-1t', isolated: true },
    { name: 'not isolated', site: 'site', isolated: false },
  ];
  const results = new Map<string, { wall: number[]; worker: number[]; kernels: string }>();
  for (let round = 1; round <= rounds; round++) {
    for (const mode of modes) {
      const server = await serveStatic(join(work, mode.site), { isolated: mode.isolated });
      const context = await launchChromium(join(work, `profile-${round}-${mode.site}-${mode.isolated}`));
      try {
        const page = await context.newPage();
        page.on('pageerror', (e) => console.error(`page error: ${e.message}`));
        await page.goto(server.url);
        await page.locator('#drift-start:not([disabled])').click({ timeout: 60_000 });
        await page.waitForTimeout(WARMUP_MS);
        const step = async (): Promise<[number, number]> => [Number(await page.locator('#drift').getAttribute('data-step')), performance.now()];
        const [s0, t0] = await step();
        await page.waitForTimeout(seconds * 1000);
        const [s1, t1] = await step();
        // The worker's own figure: steps per second of training time (evaluations excluded), since Start.
        const status = await page.locator('#drift-status').innerText();
        const worker = Number(/· ([\d.]+) steps\/s/.exec(status)?.[1]);
        const kernels = status.split(' · ').at(-1)!;
        const wall = (1000 * (s1 - s0)) / (t1 - t0);
        const r = results.get(mode.name) ?? { wall: [], worker: [], kernels };
        r.wall.push(wall);
        r.worker.push(worker);
        results.set(mode.name, r);
        console.log(`round ${round}, ${mode.name} (${kernels}): ${wall.toFixed(1)} steps/s wall clock, ${worker.toFixed(1)} in training time; step ${s1}`);
      } finally {
        await context.close();
        await server.close();
      }
    }
  }
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  console.log(`\nmedians over ${rounds} rounds of ${seconds} s (after ${WARMUP_MS / 1000} s of warm-up); one step trains both networks:`);
  for (const [name, r] of results) {
    console.log(`  ${name.padEnd(36)} ${r.kernels.padEnd(62)} ${median(r.wall).toFixed(1).padStart(6)} wall  ${median(r.worker).toFixed(1).padStart(6)} worker`);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
