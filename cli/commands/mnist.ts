import type { Command } from 'commander';
import { figure1Runs } from '../../src/experiments/mlpVariants.js';
import type { MlpMetrics } from '../../src/experiments/mnistMlp.js';
import { accuracySpec, percentileSpec } from '../lab/charts.js';
import { checkpointPaths } from '../lab/checkpoints.js';
import {
  accuracyAt, baseConfig, commandLine, datasetLabel, labOptions, loadLabData, resultsJson, runAll, textTable, writeResults, type LabOptions,
} from '../lab/mlpLab.js';
import { writeReport, type ReportSection } from '../lab/report.js';

/** Test accuracies read off Figure 1a of Ioffe & Szegedy (2015), by training step. */
export const PAPER_ACCURACY: Record<'without BN' | 'with BN', Record<number, number>> = {
  'without BN': { 10000: 0.926, 20000: 0.963, 30000: 0.968, 45000: 0.972 },
  'with BN': { 10000: 0.966, 20000: 0.974, 30000: 0.978, 50000: 0.982 },
};

/** The steps the summary shows: the paper's where the run reached them (plus a few of ours for a short run), and the last. */
export function summarySteps(runs: MlpMetrics[]): number[] {
  const last = Math.max(...runs.map((m) => m.stepsDone));
  const paper = [10000, 20000, 30000, 45000, 50000].filter((s) => s <= last);
  let steps = paper;
  if (paper.length < 3) {
    // A short run: add the evaluations at a quarter, half and three quarters of it.
    const evals = runs[0].curve.map((p) => p.step).filter((s) => s > 0);
    steps = [...paper, ...[1, 2, 3].map((k) => evals[Math.floor((k * evals.length) / 4) - 1]).filter((s) => s !== undefined)];
  }
  return [...new Set([...steps, last])].sort((a, b) => a - b);
}

/** Rows: step, then per run our accuracy and (on MNIST) the paper's, or '-'. */
export function figure1Table(runs: MlpMetrics[], withPaper = true): string[][] {
  const header = ['step', ...runs.flatMap((m) => (withPaper ? [m.name, 'paper'] : [m.name]))];
  const rows = summarySteps(runs).map((s) => [
    s.toLocaleString('en-US'),
    ...runs.flatMap((m) => {
      const ours = accuracyAt(m, s);
      const paper = PAPER_ACCURACY[m.name as keyof typeof PAPER_ACCURACY]?.[s];
      const oursText = m.diverged && m.diverged.step <= s ? 'diverged' : ours ? ours.accuracy.toFixed(4) + (ours.step !== s ? ` (@${ours.step})` : '') : '-';
      return withPaper ? [oursText, paper === undefined ? '-' : paper.toFixed(3)] : [oursText];
    }),
  ]);
  return [header, ...rows];
}

/** The captions' references for Ioffe & Szegedy's Figure 1, which `mlpFigures` draws by default. */
export const FIGURE_1 = { accuracy: 'Ioffe & Szegedy, Figure 1a', percentiles: 'Ioffe & Szegedy, Figure 1 b/c' };

/**
 * The figures of a set of MLP runs: accuracy (all runs), then one percentile band per run, on one
 * y scale. `cite`: the paper's figures they correspond to, for the captions (null: none).
 */
export function mlpFigures(runs: Pick<MlpMetrics, 'name' | 'config' | 'curve' | 'percentiles'>[], cite: { accuracy: string; percentiles: string } | null = FIGURE_1): NonNullable<ReportSection['figures']> {
  const all = runs.flatMap((m) => m.percentiles.flatMap((p) => [p.p15, p.p85])).filter(Number.isFinite);
  const domain: [number, number] | undefined = all.length ? [Math.floor(Math.min(...all)), Math.ceil(Math.max(...all))] : undefined;
  return [
    { file: 'accuracy.svg', spec: accuracySpec(runs), alt: `Test accuracy against training steps${cite ? ` (${cite.accuracy})` : ''}.` },
    ...runs.map((m, i) => ({
      file: `percentiles-${i + 1}.svg`,
      spec: percentileSpec(m.name, m.percentiles, domain),
      alt: `${m.name}: the 15th, 50th and 85th percentiles of the input to sigmoid unit ${m.config.percentileUnit} of the last hidden layer, on ${m.config.percentileBatch} held-out test images${cite ? ` (${cite.percentiles})` : ''}.`,
    })),
  ];
}

export function settingsText(m: MlpMetrics): string {
  const c = m.config;
  return `784-${c.hidden.join('-')}-10 ${c.activation} network, batch ${c.batchSize}, ${c.optimizer.toUpperCase()} lr ${c.lr}` +
    `${c.optimizer === 'sgd' && c.momentum ? ` momentum ${c.momentum}` : ''}, weights from N(0, ${c.initStd}^2), biases 0, seed ${c.seed}, ` +
    `${c.steps} steps, test accuracy on ${c.evalLimit ?? 'all'} test images every ${c.evalEvery} steps, dataset ${c.dataset}.`;
}

export function registerMnist(program: Command): void {
  const cmd = program
    .command('mnist')
    .description("Ioffe & Szegedy's Figure 1: the same sigmoid MLP trained without and with BatchNorm on MNIST");
  labOptions(cmd, { steps: 10000, evalEvery: 500, out: 'runs/mnist', lr: 0.5 }).action(async (o: LabOptions) => {
    const configs = figure1Runs(baseConfig(o));
    const data = loadLabData(o);
    const c = configs[0];
    // What is about to run, in a line (the report has it all: settingsText).
    console.error(`784-${c.hidden.join('-')}-10 ${c.activation}, ${c.optimizer.toUpperCase()} lr ${c.lr}${c.optimizer === 'sgd' && c.momentum ? ` momentum ${c.momentum}` : ''}, ` +
      `init N(0, ${c.initStd}^2), seed ${c.seed}, ${c.steps} steps`);
    const command = commandLine();
    const runs = runAll(configs, data, o, (done) => writeResults(o.out, resultsJson('figure1', command, done)));
    const mnist = o.dataset === 'mnist';
    const table = figure1Table(runs, mnist);
    const dataName = datasetLabel(o);
    console.log(mnist ? `\nTest accuracy on ${dataName}, ours beside the paper's Figure 1a:\n` : `\nTest accuracy on ${dataName} (the paper has MNIST only):\n`);
    console.log(textTable(table));
    const report = await writeReport(o.out, `Batch Normalization on ${dataName}: Figure 1 of Ioffe & Szegedy (2015)`, command, [
      {
        heading: 'Test accuracy',
        text: [
          settingsText(runs[0]),
          'Both runs start from the same weights and see the same batches; "with BN" adds BatchNorm1d before each sigmoid. ' +
            (mnist ? "The paper's values are read off its Figure 1a (its optimizer, learning rate and initialisation are not given)." : ''),
        ],
        table,
        figures: mlpFigures(runs),
      },
    ]);
    const ckpt = checkpointPaths(o.out, 'with BN').model;
    console.log(`\nresults: ${writeResults(o.out, resultsJson('figure1', command, runs))}\nreport:  ${report}`);
    console.log(`checkpoints: ${o.out}/checkpoints/ (try: npx batchnorm predict --checkpoint ${ckpt} --index 0)`);
  });
}
