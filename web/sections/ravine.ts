/** Section 2: ravine vs bowl. */
import type { Spec } from 'vega';
import { curvature, descend, lossGrid, makeRavineData, normalizeFeatures, type Domain, type PathPoint, type RavineData } from '../lab/ravine.js';
import { COLORS, Plot, onWidth } from '../plot.js';

const GRID = 60;
const STEPS = 150;
const START: [number, number] = [-0.5, 2.8];

interface Panel {
  name: 'raw' | 'normalized';
  data: RavineData;
  domain: Domain;
  plot: Plot;
  path: PathPoint[];
}

/** Loss contours from a grid (vega's isocontour), with the descent path on top. Equal units on both axes. */
function contourSpec(grid: Float64Array, domain: Domain, color: string, minimum: [number, number]): Spec {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of grid) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  // Geometric levels: the loss spans orders of magnitude across the picture.
  const levels = 14;
  const thresholds = Array.from({ length: levels }, (_, k) => lo * (hi / lo) ** ((k + 0.5) / levels));
  return {
    width: 300,
    height: 300,
    padding: 4,
    data: [
      {
        name: 'grid',
        values: [{ width: GRID, height: GRID, values: Array.from(grid) }],
        transform: [{ type: 'isocontour', thresholds, scale: { expr: `width / ${GRID}` } }],
      },
      { name: 'path', values: [] },
      { name: 'marks', values: [{ kind: 'minimum', w1: minimum[0], w2: minimum[1] }] },
    ],
    scales: [
      { name: 'x', type: 'linear', domain: domain.w1, range: 'width', nice: false, zero: false },
      { name: 'y', type: 'linear', domain: domain.w2, range: 'height', nice: false, zero: false },
      { name: 'shade', type: 'log', domain: [thresholds[0], thresholds[levels - 1]], range: { scheme: 'blues' }, reverse: true },
    ],
    axes: [
      { orient: 'bottom', scale: 'x', title: 'w₁', tickCount: 5 },
      { orient: 'left', scale: 'y', title: 'w₂', tickCount: 5 },
    ],
    marks: [
      {
        type: 'shape',
        from: { data: 'grid' },
        clip: true,
        encode: { enter: { fill: { scale: 'shade', field: 'contour.value' }, stroke: { value: '#ffffff' }, strokeWidth: { value: 0.6 }, fillOpacity: { value: 0.9 } } },
        transform: [{ type: 'geoshape', field: 'datum.contour' }],
      },
      {
        type: 'line',
        from: { data: 'path' },
        clip: true,
        encode: { update: { x: { scale: 'x', field: 'w1' }, y: { scale: 'y', field: 'w2' }, stroke: { value: color }, strokeWidth: { value: 2 } } },
      },
      {
        type: 'symbol',
        from: { data: 'path' },
        clip: true,
        encode: {
          update: {
            x: { scale: 'x', field: 'w1' }, y: { scale: 'y', field: 'w2' }, size: { value: 18 }, fill: { value: color },
            tooltip: { signal: "{'step': datum.step, 'w₁': format(datum.w1, '.3f'), 'w₂': format(datum.w2, '.3f'), 'loss': format(datum.loss, '.4g')}" },
          },
        },
      },
      {
        type: 'symbol',
        from: { data: 'marks' },
        encode: { update: { x: { scale: 'x', field: 'w1' }, y: { scale: 'y', field: 'w2' }, shape: { value: 'cross' }, size: { value: 90 }, fill: { value: COLORS.ink }, angle: { value: 45 } } },
      },
    ],
  };
}

/** Least-squares weights (the bottom of the bowl), for the marker: solve (X^T X) w = X^T y. */
function minimum(data: RavineData): [number, number] {
  const x = data.x.data;
  const y = data.y.data;
  let a = 0, b = 0, d = 0, u = 0, v = 0;
  for (let i = 0; i < y.length; i++) {
    a += x[2 * i] * x[2 * i];
    b += x[2 * i] * x[2 * i + 1];
    d += x[2 * i + 1] * x[2 * i + 1];
    u += x[2 * i] * y[i];
    v += x[2 * i + 1] * y[i];
  }
  const det = a * d - b * b;
  return [(d * u - b * v) / det, (a * v - b * u) / det];
}

export function mountRavine(root: HTMLElement): void {
  const raw = makeRavineData();
  const norm = normalizeFeatures(raw);
  // Equal spans on both axes, so a circle looks like a circle.
  const domain: Domain = { w1: [-1, 4], w2: [-1.7, 3.3] };
  const panels: Panel[] = (
    [['raw', raw, COLORS.plain, '#ravine-raw'], ['normalized', norm, COLORS.bn, '#ravine-norm']] as const
  ).map(([name, data, color, sel]) => {
    const el = root.querySelector<HTMLElement>(sel)!;
    const plot = Plot.vega(el, contourSpec(lossGrid(data, domain, GRID), domain, color, minimum(data)));
    onWidth(el, (w) => {
      const side = Math.max(200, Math.min(w, 460) - 50);
      plot.view.width(side).height(side);
      void plot.view.runAsync();
    });
    return { name, data, domain, plot, path: [] };
  });
  const lossPlot = Plot.lite(root.querySelector('#ravine-loss')!, {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: 'loss per step',
    width: 'container',
    height: 160,
    data: { name: 'loss' },
    mark: { type: 'line', point: { size: 12 } },
    encoding: {
      x: { field: 'step', type: 'quantitative', scale: { domain: [0, STEPS] }, axis: { tickCount: 6 } },
      y: { field: 'loss', type: 'quantitative', scale: { type: 'log' }, title: 'mean squared error' },
      color: { field: 'features', type: 'nominal', scale: { domain: ['raw', 'normalized'], range: [COLORS.plain, COLORS.bn] } },
    },
  });

  const lrInput = root.querySelector<HTMLInputElement>('#ravine-lr')!;
  const lrOut = root.querySelector<HTMLOutputElement>('#ravine-lr-value')!;
  const count = root.querySelector<HTMLElement>('#ravine-count')!;
  const play = root.querySelector<HTMLButtonElement>('#ravine-play')!;
  const curv = panels.map((p) => curvature(p.data));
  root.querySelector('#ravine-steepness')!.textContent = curv[0].condition.toFixed(0);
  // Start just under the raw features' largest stable rate: the ravine's best case.
  lrInput.value = String(Math.log10(0.9 * curv[0].maxStableLr));
  let shown = 0;
  let timer: ReturnType<typeof setInterval> | null = null;

  const lr = (): number => Number((10 ** Number(lrInput.value)).toPrecision(2));
  const captions = (): void => {
    panels.forEach((p, i) => {
      const cap = root.querySelector<HTMLElement>(`#ravine-${i === 0 ? 'raw' : 'norm'}-caption`)!;
      const last = p.path[Math.min(shown, p.path.length - 1)];
      const diverged = p.path.length - 1 < STEPS && shown >= p.path.length - 1;
      cap.textContent =
        `${p.name} features: stable for lr < ${curv[i].maxStableLr.toPrecision(2)}, steepness ratio ${curv[i].condition.toFixed(1)}` +
        (diverged ? ' · diverged' : ` · loss ${last.loss.toPrecision(3)}`);
    });
  };
  const draw = (): void => {
    for (const p of panels) void p.plot.set({ path: p.path.slice(0, shown + 1) });
    void lossPlot.set({
      loss: panels.flatMap((p) => p.path.slice(0, shown + 1).map((q) => ({ step: q.step, loss: q.loss, features: p.name }))),
    });
    count.textContent = `step ${shown} / ${STEPS}`;
    captions();
  };
  const recompute = (): void => {
    lrOut.textContent = `${lr()}`;
    for (const p of panels) p.path = descend(p.data, START, lr(), STEPS);
    draw();
  };
  const stop = (): void => {
    if (timer) clearInterval(timer);
    timer = null;
    play.textContent = 'Play';
  };
  play.addEventListener('click', () => {
    if (timer) return stop();
    if (shown >= STEPS) shown = 0;
    play.textContent = 'Pause';
    timer = setInterval(() => {
      shown++;
      draw();
      if (shown >= STEPS) stop();
    }, 60);
  });
  root.querySelector('#ravine-step')!.addEventListener('click', () => {
    stop();
    shown = Math.min(STEPS, shown + 1);
    draw();
  });
  root.querySelector('#ravine-reset')!.addEventListener('click', () => {
    stop();
    shown = 0;
    draw();
  });
  lrInput.addEventListener('input', recompute);
  shown = 30;
  recompute();
}
