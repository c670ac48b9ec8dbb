import type { Command } from 'commander';
import { placementRuns } from '../../src/experiments/mlpVariants.js';
import { baseConfig, commandLine, labOptions, loadLabData, resultsJson, runAll, textTable, writeResults, type LabOptions } from '../lab/mlpLab.js';
import { writeReport } from '../lab/report.js';
import { figure1Table, mlpFigures, settingsText } from './mnist.js';

export function registerPlacement(program: Command): void {
  const cmd = program
    .command('placement')
    .description('BatchNorm before vs after the sigmoid (and none): the same MLP, seed, init and batches');
  labOptions(cmd, { steps: 3000, evalEvery: 250, out: 'runs/placement', lr: 0.5 }).action(async (o: LabOptions) => {
    const configs = placementRuns(baseConfig(o));
    const data = loadLabData(o);
    const command = commandLine();
    const runs = runAll(configs, data, o, (done) => writeResults(o.out, resultsJson('placement', command, done)));
    const table = figure1Table(runs, false);
    console.log(`\nTest accuracy (${o.dataset}) by BatchNorm placement:\n`);
    console.log(textTable(table));
    const report = await writeReport(o.out, 'BatchNorm before or after the nonlinearity', command, [
      {
        heading: 'Test accuracy by placement',
        text: [
          settingsText(runs[0]),
          'The paper puts BN before the nonlinearity (BN(Wu), section 3.2): normalising the sigmoid\'s input keeps it in the ' +
            'non-saturated range. After the sigmoid, BN normalises the next layer\'s input instead; the percentile plots show ' +
            'what the tracked sigmoid then sees.',
        ],
        table,
        figures: mlpFigures(runs, null),
      },
    ]);
    console.log(`\nresults: ${writeResults(o.out, resultsJson('placement', command, runs))}\nreport:  ${report}`);
  });
}
