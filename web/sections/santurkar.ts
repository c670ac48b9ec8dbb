/**
 * Section 5: why does BatchNorm help? Santurkar et al. (2018) live: noisy BatchNorm, and the loss
 * landscape along the gradient, for three networks trained in the worker (web/lab/santurkar.ts).
 */
import { santurkarSummary, summarizeLandscape } from '../../src/experiments/santurkar.js';
import { Plot, RUN_LABEL } from '../plot.js';
import type { FromWorker, RunName, RunSnapshot, SanturkarSettings, ToWorker } from '../protocol.js';
import { accuracyChart, mountTrainingLab, percentileChart, runColors, schema } from './training.js';

const RUNS: RunName[] = ['plain', 'bn', 'noisy'];

/** A band per run over training: `lo` to `hi` at each look (data: 'looks'). */
function landscapeChart(el: HTMLElement, title: string, subtitle: string, yTitle: string): Plot {
  return Plot.lite(el, {
    $schema: schema,
    title: { text: title, subtitle },
    width: 'container',
    height: 190,
    data: { name: 'looks' },
    encoding: { x: { field: 'step', type: 'quantitative', title: 'training step' }, color: runColors(RUNS) },
    layer: [
      { mark: { type: 'area', opacity: 0.3 }, encoding: { y: { field: 'lo', type: 'quantitative', title: yTitle }, y2: { field: 'hi' } } },
      { mark: { type: 'line', strokeWidth: 1.5 }, encoding: { y: { field: 'hi', type: 'quantitative' } } },
    ],
  });
}

export interface SanturkarSection {
  onMessage(msg: FromWorker): void;
  settings(): SanturkarSettings;
}

export function mountSanturkar(root: HTMLElement, send: (msg: ToWorker) => void): SanturkarSection {
  const lrSel = root.querySelector<HTMLSelectElement>('#santurkar-lr')!;
  const noiseSel = root.querySelector<HTMLSelectElement>('#santurkar-noise')!;
  const table = root.querySelector<HTMLTableElement>('#santurkar-summary')!;
  const accuracy = accuracyChart(root.querySelector('#santurkar-accuracy')!, RUNS);
  const bands = (['bn', 'noisy'] as const).map((run) => percentileChart(root.querySelector(`#santurkar-pct-${run}`)!, run));
  const lossChart = landscapeChart(root.querySelector('#santurkar-loss')!, 'loss along the gradient', 'range over w and the five step sizes', 'loss');
  const gradChart = landscapeChart(root.querySelector('#santurkar-grad')!, 'gradient change along the gradient', 'largest over the five step sizes', '‖∇L(w − ηg) − ∇L(w)‖');

  const settings = (): SanturkarSettings => ({ lab: 'santurkar', lr: Number(lrSel.value), noise: Number(noiseSel.value) });

  function summaryTable(snapshots: RunSnapshot[]): void {
    const f = (x: number, digits = 3): string => (Number.isFinite(x) ? x.toFixed(digits) : '–');
    const rows = RUNS.map((run) => {
      const mine = snapshots.filter((s) => s.run === run);
      const sum = santurkarSummary({ percentiles: mine.map((s) => s.percentiles), landscape: mine.flatMap((s) => s.looks) });
      const last = mine.at(-1);
      return [RUN_LABEL[run], last ? `${(100 * last.accuracy.testAccuracy).toFixed(1)}%` : '–', f(sum.medianMove), f(sum.lossRange), f(sum.gradChange)];
    });
    const head = ['', 'test accuracy', 'median move', 'loss range', 'gradient change'];
    const thead = document.createElement('thead');
    thead.innerHTML = `<tr>${head.map((h) => `<th>${h}</th>`).join('')}</tr>`;
    const tbody = document.createElement('tbody');
    tbody.innerHTML = rows.map(([name, ...cells]) => `<tr><th>${name}</th>${cells.map((c) => `<td>${c}</td>`).join('')}</tr>`).join('');
    table.replaceChildren(thead, tbody);
  }

  function redraw(snapshots: RunSnapshot[]): void {
    accuracy(snapshots);
    for (const band of bands) band(snapshots);
    const looks = snapshots.flatMap((s) => s.looks.map((l) => ({ run: RUN_LABEL[s.run], step: l.step, ...summarizeLandscape(l) })));
    void lossChart.set({ looks: looks.map((l) => ({ run: l.run, step: l.step, lo: l.lossMin, hi: l.lossMax })) });
    void gradChart.set({ looks: looks.map((l) => ({ run: l.run, step: l.step, lo: 0, hi: l.gradChangeMax })) });
    root.dataset.looks = String(looks.length);
    summaryTable(snapshots);
  }

  const lab = mountTrainingLab(root, { lab: 'santurkar', runs: RUNS.length, inputs: [lrSel, noiseSel], settings, send, redraw });
  return { settings, onMessage: lab.onMessage };
}
