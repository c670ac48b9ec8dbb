/**
 * Draws the figures in docs/figures again from the results JSON beside them, with the lab's own
 * figure code (cli/commands/*), without training anything: for a change to how figures look.
 * Only figures already there are written (each command makes more than the README shows).
 *
 *   node --import tsx scripts/render-figures.ts
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderSvg } from '../cli/lab/charts.js';
import { runSlug } from '../cli/lab/checkpoints.js';
import type { ReportSection } from '../cli/lab/report.js';
import { convnetFigures } from '../cli/commands/convnet.js';
import { depthFigures } from '../cli/commands/depth.js';
import { lrSweepFigures } from '../cli/commands/lrSweep.js';
import { mlpFigures } from '../cli/commands/mnist.js';
import { landscapeFigures } from '../cli/commands/santurkar.js';

const DIR = fileURLToPath(new URL('../docs/figures/', import.meta.url));

// A results.json as the commands write it (cli/lab/mlpLab.ts resultsJson, cli/commands/convnet.ts).
type Results = { experiment: string; seeds?: number[]; runs: any[] };
type Figures = NonNullable<ReportSection['figures']>;

/** Each experiment's figures, and the name its figure `file` has in docs/figures (`base`: the JSON's name without -results.json). */
const EXPERIMENTS: Record<string, { figures: (runs: Results['runs'], r: Results) => Figures; name: (base: string, file: string) => string }> = {
  figure1: { figures: (runs) => mlpFigures(runs), name: (base, file) => `${base}-${file}` },
  placement: { figures: (runs) => mlpFigures(runs), name: (base, file) => `${base}-${file}` },
  santurkar: { figures: (runs) => [...mlpFigures(runs), ...landscapeFigures(runs)], name: (base, file) => `${base}-${file}` },
  depth: { figures: (runs) => depthFigures(runs), name: (base, file) => file.replace(/^depth/, base) },
  'lr-sweep': { figures: (runs) => lrSweepFigures(runs), name: (base) => `${base}.svg` },
  convnet: { figures: (runs, r) => convnetFigures(runs, (r.seeds?.length ?? 1) > 1), name: (base) => `${base}.svg` },
};

for (const json of readdirSync(DIR).filter((f) => f.endsWith('-results.json')).sort()) {
  const results = JSON.parse(readFileSync(join(DIR, json), 'utf8')) as Results;
  const experiment = EXPERIMENTS[results.experiment];
  if (!experiment) throw new Error(`${json}: unknown experiment '${results.experiment}'`);
  // The JSON has each run's config under `settings`; the figure code reads `config`.
  const runs = results.runs.map((r) => ({ ...r, config: r.settings, landscape: r.landscape ?? [] }));
  const base = json.replace(/-results\.json$/, '');
  for (const f of experiment.figures(runs, results)) {
    // Percentile figures are numbered by run in a report, named by run here.
    const file = experiment.name(base, f.file.replace(/percentiles-(\d+)/, (_, i: string) => `percentiles-${runSlug(runs[Number(i) - 1].name)}`));
    if (!existsSync(join(DIR, file))) continue;
    writeFileSync(join(DIR, file), await renderSvg(f.spec));
    console.log(`${file}  <-  ${json}`);
  }
}
