/**
 * Regenerates the README's screenshots of the web lab (docs/screenshots/*.png): builds the lab,
 * serves it on 127.0.0.1, trains section 3 in headless Chromium to a number of steps, then
 * section 5, then captures each section. Steps, not seconds: the training is seeded, so the same
 * steps give the same picture on any machine (give or take the last slice of steps before the pause).
 * Usage: npm run screenshots:web [-- steps-of-section-3 [learning-rate [steps-of-section-5]]]
 * (defaults 4000, the page's 0.5, and 5000: section 5 to its end).
 */
import { mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildWeb, CHROMIUM, hasChromium, launchChromium, serveStatic } from './e2e.js';

const driftSteps = Number(process.argv[2] ?? 4000);
const lr = process.argv[3];
const santurkarSteps = Number(process.argv[4] ?? 5000);
const out = fileURLToPath(new URL('../docs/screenshots/', import.meta.url));
if (!hasChromium()) {
  console.error(`no Chromium at ${CHROMIUM}: apt-get install -y chromium`);
  process.exit(1);
}
const work = mkdtempSync(join(tmpdir(), 'batchnorm-shots-'));
try {
  await buildWeb(join(work, 'site'));
  const server = await serveStatic(join(work, 'site'));
  const context = await launchChromium(join(work, 'profile'), { width: 1100, height: 900 });
  const page = await context.newPage();
  page.on('pageerror', (e) => console.error(`page error: ${e.message}`));
  await page.goto(server.url);
  await page.locator('#drift-start:not([disabled])').waitFor({ timeout: 60_000 });
  if (lr) {
    await page.selectOption('#drift-lr', lr);
    await page.waitForFunction(() => document.getElementById('drift')!.dataset.step === '0');
  }
  /** Trains `lab` to `steps` and pauses it (a lab that reached its last step has stopped on its own). */
  const train = async (lab: string, steps: number): Promise<void> => {
    const t0 = Date.now();
    await page.locator(`#${lab}-start`).click();
    await page.waitForFunction(([id, n]) => Number(document.getElementById(id)!.dataset.step) >= n, [lab, steps] as const, { timeout: 3_600_000, polling: 50 });
    await page.evaluate((id) => {
      const start = document.getElementById(`${id}-start`) as HTMLButtonElement;
      if (!start.disabled && start.textContent === 'Pause') start.click();
    }, lab);
    await page.waitForFunction((id) => document.getElementById(`${id}-start`)!.textContent === 'Start', lab);
    console.log(`${lab}: ${steps} steps in ${((Date.now() - t0) / 1000).toFixed(0)} s; ${await page.locator(`#${lab}-status`).innerText()}`);
  };
  await train('drift', driftSteps);
  await train('santurkar', santurkarSteps);
  // The charts redraw at most every 250 ms, section 3's histograms once a second.
  await page.waitForTimeout(2000);
  // Show gamma and beta at work in the worked example: feature 2 stretched, feature 3 shifted.
  for (const [label, value] of [['gamma of feature 2', 2], ['beta of feature 3', 1.5]] as const) {
    await page.getByLabel(label, { exact: true }).evaluate((el, v) => {
      (el as HTMLInputElement).value = String(v);
      el.dispatchEvent(new Event('input', { bubbles: true }));
    }, value);
  }
  await page.waitForTimeout(500);
  mkdirSync(out, { recursive: true });
  for (const id of ['worked', 'ravine', 'drift', 'inference', 'santurkar']) {
    // Written next to the target, then renamed: a crash never leaves half a PNG in docs/.
    const tmp = join(out, `.${id}.png.tmp`);
    await page.locator(`#${id}`).screenshot({ path: tmp, type: 'png' });
    renameSync(tmp, join(out, `${id}.png`));
  }
  console.log(`wrote ${out}{worked,ravine,drift,inference,santurkar}.png`);
  await context.close();
  await server.close();
} finally {
  rmSync(work, { recursive: true, force: true });
}
