import type { Command } from 'commander';
import { classifyRun, lrSweepRuns } from '../../src/experiments/mlpVariants.js';
import { defaultMlpConfig, type MlpConfig, type MlpMetrics } from '../../src/experiments/mnistMlp.js';
import { sweepSpec } from '../lab/charts.js';
import { baseConfig, commandLine, labOptions, loadLabData, resultsJson, runAll, textTable, writeResults, type LabOptions } from '../lab/mlpLab.js';
import { writeReport, type ReportSection } from '../lab/report.js';

const STALL_BELOW = 0.5;

/** Final accuracy and outcome by learning rate (a diverged run at 0). */
export function lrSweepFigures(runs: Pick<MlpMetrics, 'config' | 'curve' | 'diverged'>[]): NonNullable<ReportSection['figures']> {
  const values = runs.map((m) => {
    const r = classifyRun(m, STALL_BELOW);
    return { lr: m.config.lr, run: m.config.bn === 'none' ? 'without BN' : 'with BN', accuracy: r.finalAccuracy ?? 0, outcome: r.outcome };
  });
  return [{ file: 'lr-sweep.svg', spec: sweepSpec(values), alt: 'Final test accuracy against learning rate, with and without BN.' }];
}

export function registerLrSweep(program: Command): void {
  const cmd = program
    .command('lr-sweep')
    .description('learning-rate sweep: where the plain MLP stalls or diverges and the BN one still trains');
  labOptions(cmd, { steps: 2000, evalEvery: 500, out: 'runs/lr-sweep' })
    .option('--lrs <list>', 'comma-separated learning rates', '0.5,2,5,10,20,50')
    .action(async (o: LabOptions & { lrs: string }) => {
      const lrs = o.lrs.split(',').map((s) => {
        const v = Number(s.trim());
        if (!(v > 0 && Number.isFinite(v))) throw new Error(`--lrs expects positive numbers separated by commas (got '${s}')`);
        return v;
      });
      const base: MlpConfig = { ...defaultMlpConfig, ...baseConfig(o) };
      const configs = lrSweepRuns({ base, lrs, placements: ['none', 'before'], stallBelow: STALL_BELOW });
      const data = loadLabData(o);
      const command = commandLine();
      const runs = runAll(configs, data, o, (done) => writeResults(o.out, resultsJson('lr-sweep', command, done, { stallBelow: STALL_BELOW })));
      const outcomes = runs.map((m) => ({ m, ...classifyRun(m, STALL_BELOW) }));
      const cell = (lr: number, bn: string): string => {
        const r = outcomes.find((x) => x.m.config.lr === lr && x.m.config.bn === bn);
        if (!r) return '-';
        if (r.outcome === 'diverges') return `diverges (step ${r.m.diverged!.step})`;
        return `${r.outcome} ${r.finalAccuracy!.toFixed(4)}`;
      };
      const table = [['learning rate', 'without BN', 'with BN (before sigmoid)'], ...lrs.map((lr) => [String(lr), cell(lr, 'none'), cell(lr, 'before')])];
      console.log(`\nFinal test accuracy after ${o.steps} steps (${o.dataset}); 'stalls' = below ${STALL_BELOW}:\n`);
      console.log(textTable(table));
      const report = await writeReport(o.out, 'Learning-rate sweep, with and without BatchNorm', command, [
        {
          heading: 'Outcome by learning rate',
          text: [
            `${o.steps} steps per run, ${o.optimizer.toUpperCase()}, weights from N(0, ${o.initStd}^2), seed ${o.seed}, batch 60, dataset ${o.dataset}. ` +
              `A run "diverges" when its loss stops being finite (recorded, the sweep goes on; plotted at 0), "stalls" when its final test accuracy is below ${STALL_BELOW}.`,
          ],
          table,
          figures: lrSweepFigures(runs),
        },
      ]);
      console.log(`\nresults: ${writeResults(o.out, resultsJson('lr-sweep', command, runs, { stallBelow: STALL_BELOW, outcomes: outcomes.map((r) => ({ name: r.m.name, lr: r.m.config.lr, bn: r.m.config.bn, outcome: r.outcome, finalAccuracy: r.finalAccuracy })) }))}\nreport:  ${report}`);
    });
}
