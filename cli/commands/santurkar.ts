import type { Command } from 'commander';
import type { MlpMetrics } from '../../src/experiments/mnistMlp.js';
import { santurkarRuns, LANDSCAPE_LR_MULTIPLES } from '../../src/experiments/mlpVariants.js';
import { santurkarSummary, summarizeLandscape } from '../../src/experiments/santurkar.js';
import { bandSpec } from '../lab/charts.js';
import { baseConfig, commandLine, labOptions, loadLabData, resultsJson, runAll, textTable, writeResults, type LabOptions } from '../lab/mlpLab.js';
import { writeReport, type ReportSection } from '../lab/report.js';
import { figure1Table, mlpFigures, settingsText } from './mnist.js';
import { integer } from '../parse.js';

/** Santurkar et al.'s Figure 2 shows the accuracy and the activations of the noisy run (of a VGG on CIFAR-10). */
const SANTURKAR_FIGURE_2 = { accuracy: 'as Santurkar et al., Figure 2', percentiles: 'as Santurkar et al., Figure 2' };

/** The three landscape figures (Santurkar et al., Figure 4), from every look of every run. */
export function landscapeFigures(runs: Pick<MlpMetrics, 'name' | 'config' | 'landscape'>[]): NonNullable<ReportSection['figures']> {
  const multiples = (runs[0]?.config.landscape?.lrMultiples ?? LANDSCAPE_LR_MULTIPLES).join(', ');
  // Every look of every run, summarised once; each figure picks its band from these.
  const looks = runs.flatMap((m) => m.landscape.map((l) => ({ run: m.name, step: l.step, ...summarizeLandscape(l) })));
  const band = (lo: (l: (typeof looks)[number]) => number, hi: (l: (typeof looks)[number]) => number) =>
    looks.map((l) => ({ run: l.run, step: l.step, lo: lo(l), hi: hi(l) }));
  return [
    {
      file: 'landscape-loss.svg',
      spec: bandSpec('Loss along the gradient', `range of the loss at eta = (${multiples}) x lr`, 'loss', band((l) => l.lossMin, (l) => l.lossMax)),
      alt: 'The range of the loss when moving along the gradient, per run, over training (Santurkar et al., Figure 4a).',
    },
    {
      file: 'landscape-gradient.svg',
      spec: bandSpec('Gradient predictiveness', 'largest change of the gradient along it', '||grad(w - eta g) - grad(w)||', band(() => 0, (l) => l.gradChangeMax)),
      alt: 'The largest change of the gradient when moving along it, per run, over training (Santurkar et al., Figure 4b).',
    },
    {
      file: 'landscape-smoothness.svg',
      spec: bandSpec('Effective beta-smoothness', 'largest gradient change per distance moved', 'beta', band((l) => l.smoothness, (l) => l.smoothness)),
      alt: 'The effective beta-smoothness, per run, over training (Santurkar et al., Figure 4c).',
    },
  ];
}

export function registerSanturkar(program: Command): void {
  const cmd = program
    .command('santurkar')
    .description('Santurkar et al. (2018): BatchNorm with changing noise after it, and the loss landscape with and without BN');
  labOptions(cmd, { steps: 5000, evalEvery: 250, out: 'runs/santurkar', lr: 0.5, initStd: 0.1 })
    .option('--noise <k>', 'strength of the noise after each BatchNorm of the noisy run, in (0, 2)', (v: string) => Number(v), 1)
    .option('--landscape-every <k>', 'look at the loss landscape every k steps', integer('--landscape-every', 1), 100)
    .action(async (o: LabOptions & { noise: number; landscapeEvery: number }) => {
      if (!(o.noise > 0 && o.noise < 2)) throw new Error(`--noise expects a number in (0, 2) (got '${o.noise}')`);
      const configs = santurkarRuns(baseConfig(o), o.noise, o.landscapeEvery);
      const data = loadLabData(o);
      const command = commandLine();
      const runs = runAll(configs, data, o, (done) => writeResults(o.out, resultsJson('santurkar', command, done)));
      const accuracy = figure1Table(runs, false);
      const f = (x: number): string => (Number.isFinite(x) ? x.toFixed(3) : '-');
      const sums = runs.map(santurkarSummary);
      const landscape = [
        ['run', 'median move', 'loss range', 'gradient change', 'beta-smoothness'],
        ...runs.map((m, i) => [m.name, f(sums[i].medianMove), f(sums[i].lossRange), f(sums[i].gradChange), f(sums[i].smoothness)]),
      ];
      console.log(`\nTest accuracy (${o.dataset}):\n`);
      console.log(textTable(accuracy));
      console.log(`\nWhat the last hidden layer sees, and the landscape along the gradient (means over the run; lower = steadier / smoother):\n`);
      console.log(textTable(landscape));
      const multiples = LANDSCAPE_LR_MULTIPLES.join(', ');
      const report = await writeReport(o.out, 'How does BatchNorm help? Noisy BatchNorm and the loss landscape (Santurkar et al. 2018)', command, [
        {
          heading: 'Noisy BatchNorm: unstable distributions, and how it trains',
          text: [
            settingsText(runs[0]),
            `The noisy run injects noise right after each BatchNorm: each value y becomes y * (a + c e1) + (b + d e2), e1 and e2 standard normal per sample, ` +
              `with a per-unit distribution drawn afresh at every step (strength ${o.noise}: a in [${1 - o.noise / 2}, ${1 + o.noise / 2}], b in [-${o.noise}, ${o.noise}], c and d in [0, ${o.noise / 2}]). ` +
              'Its percentile plot (measured with a draw of that noise) shows the sigmoid\'s input jumping from one evaluation to the next: more "internal covariate shift" ' +
              'than without BN. If BatchNorm helped by keeping these distributions steady, the noisy run would train like the plain one.',
            '"median move": the mean change of the tracked sigmoid input\'s median between two evaluations.',
          ],
          table: accuracy,
          figures: mlpFigures(runs, SANTURKAR_FIGURE_2),
        },
        {
          heading: 'The loss landscape along the gradient (Figure 4)',
          text: [
            `Every ${o.landscapeEvery} steps, on that step's own batch (BatchNorm in training mode), the weights are moved along the gradient g by ` +
              `eta = (${multiples}) x lr and the loss and gradient measured there; then everything is put back and training goes on unchanged. ` +
              '"loss range": max - min of the loss over those points; "gradient change": the largest ||grad(w - eta g) - grad(w)||; ' +
              '"beta-smoothness": the largest ||grad(w - eta g) - grad(w)|| / ||eta g||. Means over the looks after step 0.',
          ],
          table: landscape,
          figures: landscapeFigures(runs),
        },
      ]);
      console.log(`\nresults: ${writeResults(o.out, resultsJson('santurkar', command, runs))}\nreport:  ${report}`);
    });
}
