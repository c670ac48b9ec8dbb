/**
 * What sections 3 and 5 share: a lab of networks trained in the worker (web/worker.ts), its
 * start/pause/reset buttons, settings controls and status line, the snapshots received since the
 * last reset, and the accuracy and percentile charts.
 */
import { describeRuntime } from '../lab/runtime.js';
import { Plot, RUN_COLOR, RUN_LABEL, throttle } from '../plot.js';
import type { FromWorker, LabName, LabSettings, RunName, RunSnapshot, ToWorker } from '../protocol.js';

export const schema = 'https://vega.github.io/schema/vega-lite/v6.json';

/** A colour encoding by run label: each of `runs` in its own colour, in this order in the legend. */
export function runColors(runs: RunName[]) {
  return { field: 'run', type: 'nominal', title: null, scale: { domain: runs.map((r) => RUN_LABEL[r]), range: runs.map((r) => RUN_COLOR[r]) } } as const;
}

/** Test accuracy of `runs` over training; returns what draws the snapshots. */
export function accuracyChart(el: HTMLElement, runs: RunName[]): (snapshots: RunSnapshot[]) => void {
  const plot = Plot.lite(el, {
    $schema: schema,
    title: 'test accuracy',
    width: 'container',
    height: 200,
    data: { name: 'curve' },
    mark: { type: 'line', point: { size: 16 }, interpolate: 'monotone' },
    encoding: {
      x: { field: 'step', type: 'quantitative', title: 'training step' },
      y: { field: 'accuracy', type: 'quantitative', title: null, scale: { zero: false }, axis: { format: '.0%' } },
      color: runColors(runs),
      tooltip: [{ field: 'run' }, { field: 'step' }, { field: 'accuracy', format: '.2%' }],
    },
  });
  return (snapshots) => void plot.set({ curve: snapshots.map((s) => ({ run: RUN_LABEL[s.run], step: s.accuracy.step, accuracy: s.accuracy.testAccuracy })) });
}

/** The 15th/50th/85th percentiles of one last-layer sigmoid input of `run` (Figure 1 b, c); returns what draws the snapshots. */
export function percentileChart(el: HTMLElement, run: RunName): (snapshots: RunSnapshot[]) => void {
  const color = RUN_COLOR[run];
  const plot = Plot.lite(el, {
    $schema: schema,
    title: `${RUN_LABEL[run]}: input to a last-layer sigmoid`,
    width: 'container',
    height: 170,
    data: { name: 'pct' },
    encoding: { x: { field: 'step', type: 'quantitative', title: 'training step' } },
    layer: [
      { mark: { type: 'area', opacity: 0.25, color, interpolate: 'monotone' }, encoding: { y: { field: 'p15', type: 'quantitative', title: '15 / 50 / 85th pct' }, y2: { field: 'p85' } } },
      { mark: { type: 'line', color, interpolate: 'monotone' }, encoding: { y: { field: 'p50', type: 'quantitative' } } },
      { mark: { type: 'line', color, strokeWidth: 1, strokeDash: [3, 3], interpolate: 'monotone' }, encoding: { y: { field: 'p15', type: 'quantitative' } } },
      { mark: { type: 'line', color, strokeWidth: 1, strokeDash: [3, 3], interpolate: 'monotone' }, encoding: { y: { field: 'p85', type: 'quantitative' } } },
    ],
  });
  return (snapshots) => void plot.set({ pct: snapshots.filter((s) => s.run === run).map((s) => s.percentiles) });
}

/**
 * Wires a lab's controls in `root`: `#<lab>-start` (start/pause), `#<lab>-reset`, `#<lab>-status`,
 * and `inputs` whose change starts the lab over with `settings()`. Keeps the snapshots of the
 * current run (`root.dataset.points`: evaluations drawn, `root.dataset.step`: steps trained) and
 * calls `redraw(snapshots)` when new ones arrive, at most every 250 ms (early on evaluations come
 * every few milliseconds).
 */
export function mountTrainingLab(root: HTMLElement, options: {
  lab: LabName;
  runs: number;
  inputs: HTMLElement[];
  settings: () => LabSettings;
  send: (msg: ToWorker) => void;
  redraw: (snapshots: RunSnapshot[]) => void;
}): { onMessage(msg: FromWorker): void } {
  const { lab, send } = options;
  const startBtn = root.querySelector<HTMLButtonElement>(`#${lab}-start`)!;
  const resetBtn = root.querySelector<HTMLButtonElement>(`#${lab}-reset`)!;
  const statusEl = root.querySelector<HTMLElement>(`#${lab}-status`)!;
  let running = false;
  let ready = false;
  let snapshots: RunSnapshot[] = [];
  let divergence = '';
  let kernels = '';
  const redraw = throttle((all: RunSnapshot[]) => {
    root.dataset.points = String(all.length / options.runs);
    options.redraw(all);
  }, 250);

  startBtn.addEventListener('click', () => send({ type: running ? 'pause' : 'start', lab }));
  const reset = (): void => {
    snapshots = [];
    divergence = '';
    send({ type: 'reset', settings: options.settings() });
  };
  resetBtn.addEventListener('click', reset);
  for (const input of options.inputs) input.addEventListener('change', reset);

  return {
    onMessage(msg) {
      if (msg.type === 'ready') {
        ready = true;
        startBtn.disabled = false;
        resetBtn.disabled = false;
        kernels = ` · ${describeRuntime(msg.runtime)}`;
      } else if (msg.type === 'error' && (msg.lab ?? lab) === lab) {
        statusEl.textContent = `error: ${msg.message}`;
      } else if (msg.type === 'status' && msg.lab === lab) {
        running = msg.running;
        startBtn.textContent = running ? 'Pause' : 'Start';
        startBtn.classList.toggle('primary', !running);
        // At the end Start would do nothing: say so, and only Reset is left.
        startBtn.disabled = !ready || msg.finished;
        const speed = msg.stepsPerSecond > 0 ? ` · ${msg.stepsPerSecond.toFixed(1)} steps/s` : '';
        const step = msg.finished ? `finished at step ${msg.step.toLocaleString('en')}; Reset to run again` : `step ${msg.step}`;
        statusEl.textContent = `${step}${speed}${kernels}${divergence ? ` · ${divergence}` : ''}`;
        root.dataset.step = String(msg.step);
      } else if (msg.type === 'snapshot' && msg.lab === lab) {
        const step = msg.snapshots[0]?.step ?? 0;
        // A reset starts over at step 0: drop whatever an earlier run left.
        if (step === 0) snapshots = [];
        snapshots.push(...msg.snapshots);
        const d = msg.snapshots.find((s) => s.diverged);
        if (d) divergence = `${RUN_LABEL[d.run]} ${d.diverged}`;
        redraw(snapshots);
      }
    },
  };
}
