/** Section 3: two MNIST networks, with and without BatchNorm, trained live in the worker. */
import { COLORS, Plot } from '../plot.js';
import { describeRuntime } from '../lab/runtime.js';
import { HIST_BINS, HIST_MAX, HIST_MIN, type DriftSettings, type FromWorker, type RunSnapshot, type ToWorker } from '../protocol.js';

const RUN_LABEL = { plain: 'without BN', bn: 'with BN' } as const;
const LAYERS = 3;
/** At most this many histogram columns per chart: older snapshots are thinned. */
const MAX_COLUMNS = 60;

const schema = 'https://vega.github.io/schema/vega-lite/v6.json';

export interface DriftSection {
  onMessage(msg: FromWorker): void;
  /** The learning rate and BN placement chosen in the controls. */
  settings(): DriftSettings;
}

export function mountDrift(root: HTMLElement, send: (msg: ToWorker) => void): DriftSection {
  const startBtn = root.querySelector<HTMLButtonElement>('#drift-start')!;
  const resetBtn = root.querySelector<HTMLButtonElement>('#drift-reset')!;
  const lrSel = root.querySelector<HTMLSelectElement>('#drift-lr')!;
  const placementSel = root.querySelector<HTMLSelectElement>('#drift-placement')!;
  const statusEl = root.querySelector<HTMLElement>('#drift-status')!;
  let running = false;
  let snapshots: RunSnapshot[] = [];
  let divergence = '';
  let kernels = '';

  const accuracy = Plot.lite(root.querySelector('#drift-accuracy')!, {
    $schema: schema,
    title: 'test accuracy',
    width: 'container',
    height: 200,
    data: { name: 'curve' },
    mark: { type: 'line', point: { size: 16 }, interpolate: 'monotone' },
    encoding: {
      x: { field: 'step', type: 'quantitative', title: 'training step' },
      y: { field: 'accuracy', type: 'quantitative', title: null, scale: { zero: false }, axis: { format: '.0%' } },
      color: { field: 'run', type: 'nominal', title: null, scale: { domain: Object.values(RUN_LABEL), range: [COLORS.plain, COLORS.bn] } },
      tooltip: [{ field: 'run' }, { field: 'step' }, { field: 'accuracy', format: '.2%' }],
    },
  });

  const bands = (['plain', 'bn'] as const).map((run) => {
    const color = run === 'plain' ? COLORS.plain : COLORS.bn;
    return Plot.lite(root.querySelector(`#drift-pct-${run}`)!, {
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
  });

  const histHost = root.querySelector<HTMLElement>('#drift-hist')!;
  const hist = new Map<string, Plot>();
  for (let layer = 0; layer < LAYERS; layer++) {
    for (const run of ['plain', 'bn'] as const) {
      const el = document.createElement('div');
      histHost.append(el);
      hist.set(`${run}-${layer}`, Plot.lite(el, {
        $schema: schema,
        title: { text: `layer ${layer + 1}, ${RUN_LABEL[run]}`, fontSize: 12 },
        width: 'container',
        height: 120,
        data: { name: 'cells' },
        mark: { type: 'rect', clip: true },
        encoding: {
          x: { field: 'x0', type: 'quantitative', title: layer === LAYERS - 1 ? 'training step' : null, scale: { nice: false, zero: true } },
          x2: { field: 'x1' },
          y: {
            field: 'lo', type: 'quantitative', title: run === 'plain' ? 'sigmoid input' : null,
            scale: { domain: [HIST_MIN, HIST_MAX], nice: false }, axis: { tickCount: 5 },
          },
          y2: { field: 'hi' },
          color: {
            field: 'share', type: 'quantitative', legend: null,
            scale: { type: 'sqrt', domain: [0, 0.2], clamp: true, interpolate: 'rgb', range: ['#ffffff', run === 'plain' ? COLORS.plain : COLORS.bn] },
          },
        },
      }, 'canvas'));
    }
  }

  const settings = (): DriftSettings => ({ lr: Number(lrSel.value), placement: placementSel.value as DriftSettings['placement'] });

  function redraw(): void {
    const curve = snapshots.map((s) => ({ run: RUN_LABEL[s.run], step: s.accuracy.step, accuracy: s.accuracy.testAccuracy }));
    void accuracy.set({ curve });
    (['plain', 'bn'] as const).forEach((run, i) => void bands[i].set({ pct: snapshots.filter((s) => s.run === run).map((s) => s.percentiles) }));
    const width = (HIST_MAX - HIST_MIN) / HIST_BINS;
    for (const run of ['plain', 'bn'] as const) {
      let series = snapshots.filter((s) => s.run === run);
      if (series.length > MAX_COLUMNS) {
        const stride = series.length / MAX_COLUMNS;
        series = Array.from({ length: MAX_COLUMNS }, (_, k) => series[Math.floor(k * stride)]).concat(series.slice(-1));
      }
      for (let layer = 0; layer < LAYERS; layer++) {
        const cells = series.flatMap((s, k) => {
          const next = series[k + 1]?.step ?? s.step + Math.max(10, s.step - (series[k - 1]?.step ?? 0));
          const counts = s.histograms[layer];
          const total = counts.reduce((a, b) => a + b, 0) || 1;
          // Each cell reaches a little into its neighbours (drawn later, on top): no hairline gaps between cells.
          const x1 = k < series.length - 1 ? next + 0.2 * (next - s.step) : next;
          return counts.map((c, b) => ({ x0: s.step, x1, lo: HIST_MIN + b * width, hi: HIST_MIN + (b + 1.2) * width, share: c / total }));
        });
        void hist.get(`${run}-${layer}`)!.set({ cells });
      }
    }
  }

  startBtn.addEventListener('click', () => send({ type: running ? 'pause' : 'start' }));
  const reset = (): void => {
    snapshots = [];
    divergence = '';
    send({ type: 'reset', settings: settings() });
  };
  resetBtn.addEventListener('click', reset);
  lrSel.addEventListener('change', reset);
  placementSel.addEventListener('change', reset);

  return {
    settings,
    onMessage(msg) {
      if (msg.type === 'ready') {
        startBtn.disabled = false;
        resetBtn.disabled = false;
        kernels = ` · ${describeRuntime(msg.runtime)}`;
      } else if (msg.type === 'status') {
        running = msg.running;
        startBtn.textContent = running ? 'Pause' : 'Start';
        startBtn.classList.toggle('primary', !running);
        const speed = msg.stepsPerSecond > 0 ? ` · ${msg.stepsPerSecond.toFixed(1)} steps/s` : '';
        statusEl.textContent = `step ${msg.step}${speed}${kernels}${divergence ? ` · ${divergence}` : ''}`;
        root.dataset.step = String(msg.step);
      } else if (msg.type === 'snapshot') {
        const step = msg.snapshots[0]?.step ?? 0;
        // A reset starts over at step 0: drop whatever an earlier run left.
        if (step === 0) snapshots = [];
        snapshots.push(...msg.snapshots);
        const d = msg.snapshots.find((s) => s.diverged);
        if (d) divergence = `${RUN_LABEL[d.run]} ${d.diverged}`;
        root.dataset.points = String(snapshots.length / 2);
        redraw();
      }
    },
  };
}
