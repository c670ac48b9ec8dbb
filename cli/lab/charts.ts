// Vega-Lite specs for the lab's figures, rendered to SVG in Node (no browser, no canvas).
import type { CurvePoint, PercentilePoint } from '../../src/experiments/mnistMlp.js';
import { missingPackageError } from '../../src/describe.js';

export interface NamedCurve {
  name: string;
  curve: CurvePoint[];
  /** Runs with the same group share a colour and a legend entry (a sweep's seeds of one setting). */
  group?: string;
}

/**
 * vega and vega-lite, loaded on first use. They are optional peer dependencies (a project that
 * uses the library needs no plotting): a lab command calls this before it trains, so a missing
 * one is named at once rather than after the run.
 */
export async function chartModules(): Promise<[typeof import('vega'), typeof import('vega-lite')]> {
  try {
    return await Promise.all([import('vega'), import('vega-lite')]);
  } catch (e) {
    if ((e as { code?: string }).code !== 'ERR_MODULE_NOT_FOUND') throw e;
    throw missingPackageError("the lab draws its charts with the npm packages vega and vega-lite, which are not installed here: run 'npm install vega vega-lite'", ['vega', 'vega-lite']);
  }
}

/** Renders a Vega-Lite spec to an SVG string. */
export async function renderSvg(spec: object): Promise<string> {
  const [vega, vl] = await chartModules();
  const compiled = vl.compile(spec as Parameters<typeof vl.compile>[0]).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}

const base = { $schema: 'https://vega.github.io/schema/vega-lite/v6.json', background: 'white', width: 420, height: 260 };

/**
 * The y axis of an accuracy chart, zoomed on the interesting part: from a bit below the lowest
 * accuracy after the first tenth of the run. Lower values (the first evaluations) are not moved
 * onto the axis: the marks are clipped at the plot's edge (`clip: true` on the mark), so a line
 * leaves through the bottom where it really is lower, and the axis title says it is zoomed.
 */
function accuracyY(values: { step: number; accuracy: number }[]): object {
  const accs = values.map((v) => v.accuracy).filter((a) => a > 0);
  const lastStep = values.reduce((m, v) => Math.max(m, v.step), -Infinity);
  const late = values.filter((v) => v.step >= lastStep * 0.1).map((v) => v.accuracy);
  const lo = Math.max(0, Math.floor((Math.min(...(late.length ? late : accs)) - 0.02) * 50) / 50);
  const zoomed = values.some((v) => v.accuracy < lo);
  return { field: 'accuracy', type: 'quantitative', title: zoomed ? `test accuracy (zoomed: from ${lo})` : 'test accuracy', scale: { domain: [lo, 1] } };
}

/** Figure 1a: test accuracy against training steps, one line per run. */
export function accuracySpec(runs: NamedCurve[], title = 'Test accuracy'): object {
  const values = runs.flatMap((r) => r.curve.map((p) => ({ run: r.name, group: r.group ?? r.name, step: p.step, accuracy: p.testAccuracy })));
  const grouped = runs.some((r) => r.group !== undefined);
  return {
    ...base,
    title,
    data: { values },
    mark: { type: 'line', clip: true, point: values.length < 60 && !grouped, ...(grouped ? { opacity: 0.6, strokeWidth: 1.2 } : {}) },
    encoding: {
      x: { field: 'step', type: 'quantitative', title: 'training steps' },
      y: accuracyY(values),
      color: { field: grouped ? 'group' : 'run', type: 'nominal', title: null, legend: { orient: 'bottom-right', labelLimit: 0 } },
      ...(grouped ? { detail: { field: 'run', type: 'nominal' } } : {}),
    },
  };
}

/**
 * Test accuracy of networks of several depths, with and without BN: a colour per depth (in
 * numeric order), dashed lines without BN, solid with.
 */
export function depthAccuracySpec(runs: { depth: number; bn: boolean; curve: CurvePoint[] }[], title = 'Test accuracy during training'): object {
  const values = runs.flatMap((r) => r.curve.map((p) => ({ depth: r.depth, bn: r.bn ? 'with BN' : 'without BN', step: p.step, accuracy: p.testAccuracy })));
  return {
    ...base,
    title,
    data: { values },
    mark: { type: 'line', clip: true, point: values.length < 60 },
    encoding: {
      x: { field: 'step', type: 'quantitative', title: 'training steps' },
      y: accuracyY(values),
      color: { field: 'depth', type: 'ordinal', title: 'hidden layers', scale: { scheme: 'tableau10' } },
      strokeDash: { field: 'bn', type: 'nominal', title: null, scale: { domain: ['with BN', 'without BN'], range: [[1, 0], [6, 3]] } },
    },
  };
}

/** Figure 1 b/c: the 15th, 50th and 85th percentiles of the input to one sigmoid over training. */
export function percentileSpec(name: string, series: PercentilePoint[], yDomain?: [number, number]): object {
  const values = series.map((p) => ({ step: p.step, p15: p.p15, p50: p.p50, p85: p.p85 }));
  const y = yDomain ? { scale: { domain: yDomain } } : {};
  return {
    ...base,
    width: 320,
    title: { text: name, subtitle: 'input to one last-layer sigmoid: 15th, 50th, 85th percentiles' },
    data: { values },
    encoding: { x: { field: 'step', type: 'quantitative', title: 'training steps' } },
    layer: [
      { mark: { type: 'area', opacity: 0.25, color: '#4c78a8' }, encoding: { y: { field: 'p15', type: 'quantitative', title: 'sigmoid input', ...y }, y2: { field: 'p85' } } },
      { mark: { type: 'line', color: '#4c78a8', strokeWidth: 1 }, encoding: { y: { field: 'p15', type: 'quantitative' } } },
      { mark: { type: 'line', color: '#1f3b63', strokeWidth: 2 }, encoding: { y: { field: 'p50', type: 'quantitative' } } },
      { mark: { type: 'line', color: '#4c78a8', strokeWidth: 1 }, encoding: { y: { field: 'p85', type: 'quantitative' } } },
    ],
  };
}

/** Final test accuracy against learning rate (log scale), one line per run kind. */
export function sweepSpec(values: { lr: number; run: string; accuracy: number; outcome: string }[]): object {
  return {
    ...base,
    title: 'Final test accuracy by learning rate',
    data: { values },
    encoding: {
      x: { field: 'lr', type: 'quantitative', scale: { type: 'log' }, title: 'learning rate (log scale)' },
      y: { field: 'accuracy', type: 'quantitative', scale: { domain: [0, 1] }, title: 'final test accuracy' },
      color: { field: 'run', type: 'nominal', title: null, legend: { orient: 'bottom-left' } },
    },
    layer: [
      { mark: { type: 'line' } },
      { mark: { type: 'point', filled: true, size: 70 }, encoding: { shape: { field: 'outcome', type: 'nominal', title: 'outcome' } } },
    ],
  };
}

/** Final test accuracy against the number of hidden layers, one line per run kind. */
export function depthSpec(values: { depth: number; run: string; accuracy: number }[]): object {
  return {
    ...base,
    title: 'Final test accuracy by depth',
    data: { values },
    encoding: {
      x: { field: 'depth', type: 'quantitative', title: 'hidden layers' },
      y: { field: 'accuracy', type: 'quantitative', scale: { domain: [0, 1] }, title: 'final test accuracy' },
      color: { field: 'run', type: 'nominal', title: null, legend: { orient: 'bottom-left' } },
    },
    layer: [{ mark: { type: 'line' } }, { mark: { type: 'point', filled: true, size: 70 } }],
  };
}

/**
 * A band per run over training steps, from `lo` to `hi` (Santurkar et al., Figure 4: the range of
 * the loss, or of the gradient's change, along the gradient), its upper edge drawn as a line; a
 * plain line per run when `lo` equals `hi`.
 */
export function bandSpec(title: string, subtitle: string, yTitle: string, values: { run: string; step: number; lo: number; hi: number }[]): object {
  const color = { field: 'run', type: 'nominal', title: null, legend: { orient: 'top-right' } };
  return {
    ...base,
    title: { text: title, subtitle },
    data: { values },
    encoding: { x: { field: 'step', type: 'quantitative', title: 'training steps' }, color },
    layer: [
      { mark: { type: 'area', opacity: 0.3 }, encoding: { y: { field: 'lo', type: 'quantitative', title: yTitle }, y2: { field: 'hi' } } },
      { mark: { type: 'line', strokeWidth: 1.5 }, encoding: { y: { field: 'hi', type: 'quantitative' } } },
    ],
  };
}
