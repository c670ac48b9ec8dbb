/**
 * Regenerates the README's screenshots of the web lab (docs/screenshots/*.png): builds the lab,
 * serves it on 127.0.0.1, trains section 3 for a while in headless Chromium, then section 5,
 * then captures each section.
 * Usage: npm run screenshots:web [-- seconds-of-training [learning-rate [seconds-of-section-5]]]
 */
import { mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildWeb, CHROMIUM, hasChromium, launchChromium, serveStatic } from './e2e.js';

const seconds = Number(process.argv[2] ?? 60);
const lr = process.argv[3];
const santurkarSeconds = Number(process.argv[4] ?? seconds);
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
  await page.locator('#drift-start').click();
  console.log(`training for ${seconds} s...`);
  await page.waitForTimeout(seconds * 1000);
  await page.locator('#drift-start').click();
  await page.waitForFunction(() => document.getElementById('drift-start')!.textContent === 'Start');
  console.log(`section 5 for ${santurkarSeconds} s...`);
  await page.locator('#santurkar-start').click();
  await page.waitForTimeout(santurkarSeconds * 1000);
  await page.locator('#santurkar-start').click();
  await page.waitForFunction(() => document.getElementById('santurkar-start')!.textContent === 'Start');
  await page.waitForTimeout(1000);
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
  const steps = async (id: string): Promise<string | null> => page.locator(`#${id}`).getAttribute('data-step');
  console.log(`steps: section 3 ${await steps('drift')}, section 5 ${await steps('santurkar')}; wrote ${out}{worked,ravine,drift,inference,santurkar}.png`);
  await context.close();
  await server.close();
} finally {
  rmSync(work, { recursive: true, force: true });
}
