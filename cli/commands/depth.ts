import type { Command } from 'commander';
import { classifyRun, depthRuns, usualInit } from '../../src/experiments/mlpVariants.js';
import type { MlpConfig, MlpMetrics } from '../../src/experiments/mnistMlp.js';
import { depthAccuracySpec, depthSpec } from '../lab/charts.js';
import { accuracyAt, baseConfig, commandLine, labOptions, loadLabData, resultsJson, runAll, textTable, writeResults, type LabOptions } from '../lab/mlpLab.js';
import { writeReport, type ReportSection } from '../lab/report.js';

const STALL_BELOW = 0.5;
const WIDTH = 100;

/** Final accuracy by depth (a diverged run at 0), and every run's curve. */
export function depthFigures(runs: Pick<MlpMetrics, 'name' | 'config' | 'curve' | 'diverged'>[]): NonNullable<ReportSection['figures']> {
  const values = runs.map((m) => ({
    depth: m.config.hidden.length, run: m.config.bn === 'none' ? 'without BN' : 'with BN', accuracy: classifyRun(m, STALL_BELOW).finalAccuracy ?? 0,
  }));
  return [
    { file: 'depth.svg', spec: depthSpec(values), alt: 'Final test accuracy against the number of hidden layers, with and without BN.' },
    { file: 'depth-accuracy.svg', spec: depthAccuracySpec(runs.map((m) => ({ depth: m.config.hidden.length, bn: m.config.bn !== 'none', curve: m.curve }))), alt: 'Test accuracy during training, every depth, with and without BN.' },
  ];
}

export function registerDepth(program: Command): void {
  const cmd = program
    .command('depth')
    .description('deeper and deeper networks with and without BatchNorm: where the plain one stops training');
  labOptions(cmd, { steps: 2000, evalEvery: 250, out: 'runs/depth', lr: 'usual', initStd: 'usual' })
    .option('--depths <list>', 'comma-separated numbers of hidden layers (of 100 units each)', '2,5,10,20')
    .option('--activation <name>', "'sigmoid' (the paper's), 'relu' or 'tanh'", 'sigmoid')
    .action(async (o: LabOptions & { depths: string; activation: string }) => {
      const depths = o.depths.split(',').map((s) => {
        const v = Number(s.trim());
        if (!(Number.isInteger(v) && v > 0)) throw new Error(`--depths expects positive integers separated by commas (got '${s}')`);
        return v;
      });
      if (o.activation !== 'sigmoid' && o.activation !== 'relu' && o.activation !== 'tanh') {
        throw new Error(`--activation must be 'sigmoid', 'relu' or 'tanh' (got '${o.activation}')`);
      }
      const activation: MlpConfig['activation'] = o.activation;
      // Unless given, the init and learning rate usual for the nonlinearity (Glorot for sigmoid/tanh, He for ReLU,
      // of the 100->100 layers: one std for every layer).
      const usual = usualInit(activation, WIDTH);
      const base: Partial<MlpConfig> = { ...baseConfig(o), activation, initStd: o.initStd ?? usual.initStd, lr: o.lr ?? usual.lr };
      const configs = depthRuns(base, depths, WIDTH);
      const data = loadLabData(o);
      const command = commandLine();
      const runs = runAll(configs, data, o, (done) => writeResults(o.out, resultsJson('depth', command, done, { stallBelow: STALL_BELOW })));
      // The evaluated step nearest below a quarter of the run (the first evaluation if none is): the column's header is the step measured.
      const early = Math.max(Math.floor(Math.round(o.steps / 4) / o.evalEvery) * o.evalEvery, Math.min(o.evalEvery, o.steps));
      const find = (d: number, bn: string) => runs.find((m) => m.config.hidden.length === d && m.config.bn === bn);
      const cell = (d: number, bn: string, at: number): string => {
        const m = find(d, bn);
        if (!m) return '-';
        if (m.diverged) return `diverges (step ${m.diverged.step})`;
        const a = accuracyAt(m, at)?.accuracy;
        return a === undefined ? '-' : `${classifyRun(m, STALL_BELOW).outcome === 'stalls' && at >= o.steps ? 'stalls ' : ''}${a.toFixed(4)}`;
      };
      const table = [
        ['hidden layers', `without BN @${early}`, `with BN @${early}`, `without BN @${o.steps}`, `with BN @${o.steps}`],
        ...depths.map((d) => [String(d), cell(d, 'none', early), cell(d, 'before', early), cell(d, 'none', o.steps), cell(d, 'before', o.steps)]),
      ];
      const settings = `${activation}, ${WIDTH} units a layer, weights from N(0, ${base.initStd!.toPrecision(4)}^2), ${o.optimizer.toUpperCase()} at lr ${base.lr}, batch 60, seed ${o.seed}, dataset ${o.dataset}`;
      console.log(`\nTest accuracy by depth (${settings}); 'stalls' = below ${STALL_BELOW} at the end:\n`);
      console.log(textTable(table));
      const report = await writeReport(o.out, 'Depth: deeper networks with and without BatchNorm', command, [
        {
          heading: 'Test accuracy by depth',
          text: [
            `${o.steps} steps per run; ${settings}. Hidden layers Linear -> (BatchNorm1d) -> ${activation}; the weights start from the init usually given to ${activation}, its standard deviation for the ${WIDTH}->${WIDTH} layers used for every layer ` +
              `(unless --init-std says otherwise), so the plain networks are not set up to fail. "stalls": final test accuracy below ${STALL_BELOW}.`,
          ],
          table,
          figures: depthFigures(runs),
        },
      ]);
      console.log(`\nresults: ${writeResults(o.out, resultsJson('depth', command, runs, { stallBelow: STALL_BELOW }))}\nreport:  ${report}`);
    });
}
