import type { Command } from 'commander';
import { runWorkedExample } from '../../src/experiments/workedExample.js';
import { integer } from '../parse.js';

const fmt = (v: number): string => (Math.abs(v) < 5e-5 ? '0' : v.toFixed(4)).padStart(9);
const row = (values: number[]): string => values.map(fmt).join('');

export function registerExample(program: Command): void {
  program
    .command('example')
    .description('the classic 3x4 Batch Normalization example, computed by the library')
    .option('--steps <n>', 'training steps before the inference demo', integer('--steps', 1), 30)
    .action((opts: { steps: number }) => {
      const r = runWorkedExample({ trainingSteps: opts.steps });
      const out: string[] = [];
      out.push('Batch Normalization, worked example: BatchNorm1d(4), gamma = 1, beta = 0');
      out.push('', 'mini-batch X (3 samples x 4 features):', ...r.batch.map(row));
      out.push('', 'per-feature mean:', row(r.mean));
      out.push('per-feature variance, biased (divide by N = 3):', row(r.biasedVar));
      out.push('per-feature variance, unbiased (divide by N - 1 = 2, what X.var() gives):', row(r.unbiasedVar));
      out.push('', 'BatchNorm output, y = (x - mean) / sqrt(biased var + eps):', ...r.output.map(row));
      out.push('', 'what the unbiased variance would give (not Batch Normalization):', ...r.outputWithUnbiasedVar.map(row));
      out.push(
        '',
        'Batch Normalization normalises with the biased variance (Ioffe & Szegedy 2015, Algorithm 1:',
        'sigma_B^2 = 1/m sum (x_i - mu_B)^2), so each feature of the batch has variance exactly 1.',
        'The running variance kept for inference is the unbiased one (times m/(m-1), section 3.1),',
        'an estimate of the population variance; PyTorch and this library do the same.',
      );
      out.push('', `inference: running statistics after training steps on this batch (momentum 0.1):`);
      const stepWidth = Math.max(3, String(opts.steps).length);
      for (const s of r.runningStats) out.push(`  step ${String(s.step).padStart(stepWidth)}  mean ${row(s.runningMean)}   var ${row(s.runningVar)}`);
      out.push(
        '',
        `one sample ${JSON.stringify(r.sample)} alone (a batch of one):`,
        `  training mode: error "${r.sampleTrainError}"`,
        `  eval mode, normalised with the running statistics: ${row(r.sampleEvalOutput)}`,
        // Worded from the numbers: the sample is the batch mean, so the output is 0 once the running mean has arrived.
        ...(r.sampleEvalOutput.every((v) => Math.abs(v) < 5e-5)
          ? [`  (0: after ${opts.steps} steps the running mean has reached the batch mean, 1 - 0.9^steps of the way)`]
          : [
            `  (not 0: after ${opts.steps} steps the running mean has come ${(100 * (1 - 0.9 ** opts.steps)).toFixed(0)}% of the way to the batch mean,`,
            '   1 - 0.9^steps; the output reaches 0 as it arrives)',
          ]),
      );
      console.log(out.join('\n'));
    });
}
