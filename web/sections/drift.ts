/** Section 3: two MNIST networks, with and without BatchNorm, trained live in the worker. */
import { Plot, RUN_COLOR, RUN_LABEL, throttle } from '../plot.js';
import { HIST_BINS, HIST_MAX, HIST_MIN, type DriftSettings, type FromWorker, type RunSnapshot, type ToWorker } from '../protocol.js';
import { accuracyChart, mountTrainingLab, percentileChart, schema } from './training.js';

const LAYERS = 3;
/** At most this many histogram columns per chart: older snapshots are thinned. */
const MAX_COLUMNS = 60;

export interface DriftSection {
  onMessage(msg: FromWorker): void;
  /** The learning rate and BN placement chosen in the controls. */
  settings(): DriftSettings;
}

export function mountDrift(root: HTMLElement, send: (msg: ToWorker) => void): DriftSection {
  const lrSel = root.querySelector<HTMLSelectElement>('#drift-lr')!;
  const placementSel = root.querySelector<HTMLSelectElement>('#drift-placement')!;

  const accuracy = accuracyChart(root.querySelector('#drift-accuracy')!, ['plain', 'bn']);
  const bands = (['plain', 'bn'] as const).map((run) => percentileChart(root.querySelector(`#drift-pct-${run}`)!, run));

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
        mark: { type: 'rect', clip: true, aria: false },
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
            scale: { type: 'sqrt', domain: [0, 0.2], clamp: true, interpolate: 'rgb', range: ['#ffffff', RUN_COLOR[run]] },
          },
        },
      }, 'canvas'));
    }
  }

  const settings = (): DriftSettings => ({ lab: 'drift', lr: Number(lrSel.value), placement: placementSel.value as DriftSettings['placement'] });

  function redraw(snapshots: RunSnapshot[]): void {
    accuracy(snapshots);
    for (const band of bands) band(snapshots);
    histograms(snapshots);
  }

  /**
   * At most once a second, each chart in a task of its own: the six histograms (2,880 cells each)
   * cost the page ~25 ms apiece, and redrawn at every evaluation they kept it busy most of the time.
   */
  const histograms = throttle((snapshots: RunSnapshot[]): void => {
    const width = (HIST_MAX - HIST_MIN) / HIST_BINS;
    for (const run of ['plain', 'bn'] as const) {
      let series = snapshots.filter((s) => s.run === run);
      if (series.length > MAX_COLUMNS) {
        const stride = series.length / MAX_COLUMNS;
        series = Array.from({ length: MAX_COLUMNS }, (_, k) => series[Math.floor(k * stride)]).concat(series.slice(-1));
      }
      for (let layer = 0; layer < LAYERS; layer++) setTimeout(() => {
        const cells = series.flatMap((s, k) => {
          const next = series[k + 1]?.step ?? s.step + Math.max(10, s.step - (series[k - 1]?.step ?? 0));
          const counts = s.histograms[layer];
          const total = counts.reduce((a, b) => a + b, 0) || 1;
          // Each cell reaches a little into its neighbours (drawn later, on top): no hairline gaps between cells.
          const x1 = k < series.length - 1 ? next + 0.2 * (next - s.step) : next;
          return counts.map((c, b) => ({ x0: s.step, x1, lo: HIST_MIN + b * width, hi: HIST_MIN + (b + 1.2) * width, share: c / total }));
        });
        void hist.get(`${run}-${layer}`)!.set({ cells });
      });
    }
  }, 1000);

  const lab = mountTrainingLab(root, { lab: 'drift', runs: 2, inputs: [lrSel, placementSel], settings, send, redraw });
  return { settings, onMessage: lab.onMessage };
}
