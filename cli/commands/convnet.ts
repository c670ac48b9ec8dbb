import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { INPUT_SHAPE_KEY, saveCheckpoint } from '../../src/io/checkpoint.js';
import { checkpointPaths } from '../lab/checkpoints.js';
import { Option, type Command } from 'commander';
import { loadMnist, type DatasetName } from '../../src/data/mnist.js';
import { convnetSweepRuns, defaultConvnetConfig, run, summarizeSeeds, type ConvnetConfig, type ConvnetMetrics, type SeedSummary } from '../../src/experiments/convnet.js';
import { accuracySpec } from '../lab/charts.js';
import { commandLine, datasetDefaults, datasetLabel, outFor, progressBar, runLabels, textTable, writeResults } from '../lab/mlpLab.js';
import { writeReport, type ReportSection } from '../lab/report.js';
import { integer, makeOutDir, momentum } from '../parse.js';

interface ConvnetOptions {
  dataset: DatasetName;
  data?: string;
  steps: number;
  evalEvery: number;
  evalLimit: number;
  seed: number[];
  lr: number[];
  stallBelow: number;
  momentum: number;
  channels: [number, number];
  batchSize: number;
  limit?: number;
  out: string;
  progress: boolean;
}


/** '3', '0,4,7' or '0-9' (a range includes both ends). */
export function parseSeeds(v: string): number[] {
  const seeds = v.split(',').flatMap((part) => {
    const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(part);
    if (!m) throw new Error(`--seed expects non-negative integers like 3, 0,4,7 or 0-9 (got '${v}')`);
    const [lo, hi] = [Number(m[1]), Number(m[2] ?? m[1])];
    if (hi < lo) throw new Error(`--seed: the range ${part.trim()} is empty (got '${v}')`);
    if (hi - lo >= 1000) throw new Error(`--seed: the range ${part.trim()} has more than 1000 seeds (got '${v}')`);
    return Array.from({ length: hi - lo + 1 }, (_, i) => lo + i);
  });
  const repeated = seeds.find((x, i) => seeds.indexOf(x) !== i);
  if (repeated !== undefined) throw new Error(`--seed lists seed ${repeated} twice (got '${v}')`);
  return seeds;
}

/** A sweep's settings over their seeds: stalled and diverged runs, and the final accuracy's median and range. */
export function seedTable(summary: SeedSummary[], stallBelow: number): string[][] {
  const acc = (a: number | null): string => (a === null ? '-' : a.toFixed(4));
  return [
    ['setting', 'seeds', `stalled (< ${stallBelow})`, 'diverged', 'median', 'lowest', 'highest'],
    ...summary.map((g) => [
      g.setting, String(g.seeds.length), `${g.stalled}/${g.seeds.length}`, `${g.diverged}/${g.seeds.length}`,
      acc(g.median), acc(g.lowest), acc(g.highest),
    ]),
  ];
}

/** Accuracy on the curve at about 1/4, 1/2 and all of the run, then on the whole test set. */
export function convnetTable(runs: ConvnetMetrics[]): string[][] {
  const steps = runs[0].curve.map((p) => p.step).filter((s) => s > 0);
  const picks = [...new Set([steps[Math.floor(steps.length / 4) - 1], steps[Math.floor(steps.length / 2) - 1], steps.at(-1)])]
    .filter((s): s is number => s !== undefined);
  const limit = runs[0].config.evalLimit;
  // Every column says how many test images it was measured on: the curve's first `limit`, the final all.
  const header = ['run', ...picks.map((s) => `step ${s}${limit === undefined ? '' : ` (${limit} images)`}`), `final (${runs[0].final?.testImages ?? 'all'} images)`, 'steps/s'];
  const rows = runs.map((m) => [
    m.name,
    ...picks.map((s) => {
      if (m.diverged && m.diverged.step <= s) return 'diverged';
      const p = m.curve.find((q) => q.step === s);
      return p ? p.testAccuracy.toFixed(4) : '-';
    }),
    m.final ? m.final.testAccuracy.toFixed(4) : m.diverged ? `diverged at ${m.diverged.step}` : '-',
    m.stepsPerSecond.toFixed(1),
  ]);
  return [header, ...rows];
}

/** The curves of every run; a seed sweep's runs share a colour per setting. */
export function convnetFigures(runs: Pick<ConvnetMetrics, 'name' | 'config' | 'curve'>[], sweep: boolean): NonNullable<ReportSection['figures']> {
  const manyLrs = new Set(runs.map((m) => m.config.lr)).size > 1;
  const curves = runs.map((m) => ({ ...m, ...(sweep ? { group: `${m.config.bn ? 'with' : 'without'} BN${manyLrs ? `, lr ${m.config.lr}` : ''}` } : {}) }));
  const c = runs[0].config;
  return [{ file: 'accuracy.svg', spec: accuracySpec(curves, `Conv net on ${c.dataset}: test accuracy`), alt: `Test accuracy against training steps, on the first ${c.evalLimit} test images.` }];
}

export function convnetSettings(c: ConvnetConfig, lrs: number[] = [c.lr], seeds: number[] = [c.seed]): string {
  return `Conv2d(1, ${c.channels[0]}, 3, pad 1) -> [BatchNorm2d] -> ReLU -> MaxPool2d(2) -> Conv2d(${c.channels[0]}, ${c.channels[1]}, 3, pad 1) -> ` +
    `[BatchNorm2d] -> ReLU -> MaxPool2d(2) -> Linear(${c.channels[1] * 49}, 10); PyTorch's default initialisation, ${seeds.length > 1 ? `seeds ${seeds.join(', ')}` : `seed ${seeds[0]}`}; ` +
    `batch ${c.batchSize}, SGD lr ${lrs.join(' and ')}${c.momentum ? ` momentum ${c.momentum}` : ''}, ${c.steps} steps; ` +
    `curve on the first ${c.evalLimit ?? 'all'} test images every ${c.evalEvery} steps, final accuracy on the whole test set; dataset ${c.dataset}.`;
}

export function registerConvnet(program: Command): void {
  datasetDefaults(program.command('convnet'), 'runs/convnet')
    .description('a small conv net (Conv2d -> BatchNorm2d -> ReLU -> MaxPool2d, twice, then Linear) trained without and with BatchNorm2d')
    .option('--dataset <name>', "'mnist' or 'fashion-mnist'", 'mnist')
    .option('--data <dir>', 'a directory with your own copy of the four IDX files (plain or .gz), of the dataset --dataset names')
    .option('--steps <n>', 'training steps per run', integer('--steps', 1), defaultConvnetConfig.steps)
    .option('--eval-every <k>', 'evaluate every k steps', integer('--eval-every', 1), defaultConvnetConfig.evalEvery)
    .option('--eval-limit <n>', 'test images per evaluation along the curve (the final one uses all)', integer('--eval-limit', 1), defaultConvnetConfig.evalLimit)
    .addOption(new Option('--seed <s>', 'seed of the initial weights and the batch order (the same for both runs); a list 0,4,7 or a range 0-9 runs the pair for each').argParser(parseSeeds).default([0], '0'))
    .addOption(new Option('--lr <rates>', 'SGD learning rate; a comma-separated list runs the pair at each (e.g. 0.05,0.2)').argParser((v: string) => {
      const rates = v.split(',').map(Number);
      if (!rates.every((r) => r > 0 && Number.isFinite(r))) throw new Error(`--lr expects positive numbers like 0.05 or 0.05,0.2 (got '${v}')`);
      return rates;
    }).default([defaultConvnetConfig.lr], String(defaultConvnetConfig.lr)))
    .option('--stall-below <acc>', 'with several seeds: a run whose final test accuracy is below this has stalled (chance is 0.1)', (v: string) => {
      const a = Number(v);
      if (!(a > 0 && a < 1)) throw new Error(`--stall-below expects an accuracy between 0 and 1 (got '${v}')`);
      return a;
    }, 0.5)
    .option('--momentum <m>', 'SGD momentum, in [0, 1)', momentum('--momentum'), defaultConvnetConfig.momentum)
    .addOption(new Option('--channels <c1,c2>', 'output channels of the two convolutions').argParser((v: string) => {
      const c = v.split(',').map(Number);
      if (c.length !== 2 || !c.every((x) => Number.isInteger(x) && x > 0)) throw new Error(`--channels expects two positive integers like 8,16 (got '${v}')`);
      return c as [number, number];
    }).default(defaultConvnetConfig.channels, defaultConvnetConfig.channels.join(',')))
    .option('--batch-size <n>', 'samples per mini-batch', integer('--batch-size', 2), defaultConvnetConfig.batchSize)
    .option('--limit <n>', 'use only the first n training and test images (quick trials)', integer('--limit', 1))
    .option('--out <dir>', `where results.json, report.html, the figure and the checkpoints go (default: runs/convnet, or ${outFor('runs/convnet', 'fashion-mnist')} with --dataset fashion-mnist)`)
    .option('--no-progress', 'no progress bars (a line per evaluation instead)')
    .action(async (o: ConvnetOptions) => {
      if (o.dataset !== 'mnist' && o.dataset !== 'fashion-mnist') throw new Error(`--dataset must be 'mnist' or 'fashion-mnist' (got '${o.dataset}')`);
      const t0 = performance.now();
      const data = loadMnist({ dataset: o.dataset, dataDir: o.data, limit: o.limit });
      console.error(`${o.dataset}: ${data.train.n} training and ${data.test.n} test images from ${data.dataDir} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
      const configs = convnetSweepRuns({
        steps: o.steps, evalEvery: o.evalEvery, evalLimit: Math.min(o.evalLimit, data.test.n), momentum: o.momentum,
        channels: o.channels, batchSize: o.batchSize, dataset: o.dataset,
      }, o.lr, o.seed);
      const sweep = o.seed.length > 1;
      makeOutDir(o.out);
      mkdirSync(join(o.out, 'checkpoints'), { recursive: true });
      const command = commandLine();
      const results = (runs: ConvnetMetrics[]): string =>
        JSON.stringify({
          experiment: 'convnet', command, date: new Date().toISOString(),
          ...(sweep ? { seeds: o.seed, stallBelow: o.stallBelow, summary: summarizeSeeds(runs, o.stallBelow) } : {}),
          runs: runs.map((m) => ({
            name: m.name, settings: m.config, stepsDone: m.stepsDone, diverged: m.diverged,
            stepsPerSecond: Number(m.stepsPerSecond.toFixed(2)), final: m.final, curve: m.curve,
          })),
        }, null, 1);
      const tty = o.progress && process.stderr.isTTY;
      const runs: ConvnetMetrics[] = [];
      const labels = runLabels(configs);
      const labelWidth = Math.max(...labels.map((l) => l.length));
      for (const [i, config] of configs.entries()) {
        const label = labels[i]!;
        const bar = tty ? progressBar(label, config.steps, { labelWidth, speed: false, etaBuffer: 50 }) : null;
        let acc = '  -   ';
        bar?.start(config.steps, 0, { acc });
        const m = run(config, data, {
          onStep: (step) => bar?.update(step, { acc }),
          onEval: (p) => {
            acc = p.testAccuracy.toFixed(4);
            if (bar) bar.update(p.step, { acc });
            else console.error(`${label}: step ${p.step}/${config.steps}  test accuracy ${acc}  test loss ${p.loss.toFixed(4)}`);
          },
        });
        bar?.stop();
        if (m.diverged) console.error(`${label}: diverged at step ${m.diverged.step} (${m.diverged.reason}); recorded, not fatal`);
        // The trained model, for `predict` and `export` (a diverged one has NaN weights: not saved).
        else saveCheckpoint(checkpointPaths(o.out, m.name).model, m.model.eval(), {
          step: String(m.stepsDone), dataset: o.dataset, [INPUT_SHAPE_KEY]: JSON.stringify([1, 1, data.test.height, data.test.width]),
        });
        runs.push(m);
        writeResults(o.out, results(runs));
      }
      const table = convnetTable(runs);
      console.log(`\nTest accuracy of the conv net on ${datasetLabel(o)}:\n`);
      console.log(textTable(table));
      const seeds = sweep ? seedTable(summarizeSeeds(runs, o.stallBelow), o.stallBelow) : null;
      if (seeds) {
        console.log(`\nOver the ${o.seed.length} seeds (final test accuracy on all ${runs[0].final?.testImages ?? data.test.n} test images; chance is 0.1):\n`);
        console.log(textTable(seeds));
      }
      const report = await writeReport(o.out, `A small conv net with and without BatchNorm2d (${datasetLabel(o)})`, command, [
        ...(seeds ? [{
          heading: `Over ${o.seed.length} seeds`,
          text: [`Each setting trained from seeds ${o.seed.join(', ')} (initial weights and batch order); a run has stalled when its final test accuracy on the whole test set is below ${o.stallBelow}.`],
          table: seeds,
        }] : []),
        {
          heading: 'Test accuracy',
          text: [
            convnetSettings(configs[0], o.lr, o.seed),
            'Both runs start from the same convolution and linear weights and see the same batches; "with BN" adds BatchNorm2d after each convolution (whose bias it then drops).',
          ],
          table,
          figures: convnetFigures(runs, sweep),
        },
      ]);
      console.log(`\nresults: ${writeResults(o.out, results(runs))}\nreport:  ${report}\nfigure:  ${o.out}/accuracy.svg`);
      const saved = runs.find((m) => !m.diverged && m.config.bn) ?? runs.find((m) => !m.diverged);
      if (saved) console.log(`checkpoints: ${o.out}/checkpoints/ (try: npx batchnorm predict --checkpoint ${checkpointPaths(o.out, saved.name).model} --index 0)`);
    });
}
