/** Section 1: the editable worked example. */
import { RNG } from '../../src/random.js';
import { CLASSIC_BATCH, normalizeBatch, type NormalizeResult } from '../lab/normalize.js';
import { Plot } from '../plot.js';

/** Four decimals; a value that rounds to zero shows as 0.0000 (never -0.0000). */
export const fmt = (v: number): string => (Math.abs(v) < 5e-5 ? '0.0000' : v.toFixed(4));
const sub = (i: number): string => String(i + 1).replace(/\d/g, (d) => '₀₁₂₃₄₅₆₇₈₉'[Number(d)]);

export function mountWorked(root: HTMLElement): void {
  let batch = CLASSIC_BATCH.map((r) => [...r]);
  let gamma = [1, 1, 1, 1];
  let beta = [0, 0, 0, 0];
  const table = root.querySelector<HTMLTableElement>('#worked-table')!;
  const error = root.querySelector<HTMLElement>('#worked-error')!;
  const rng = new RNG(2015);

  /** Dots per feature: one row per feature, one colour per sample. `ghost` draws x-hat as rings behind y. */
  const strip = (title: string, features: number, after: boolean): object => {
    const dots = (field: string, filled: boolean): object => ({
      mark: { type: 'point', size: 110, filled, opacity: filled ? 0.85 : 0.5, strokeWidth: 1.5 },
      encoding: {
        x: { field, type: 'quantitative', title: null, scale: after ? { domain: { signal: 'range' } } : { zero: false, nice: true } },
        y: { field: 'feature', type: 'nominal', title: null },
        color: { field: 'sample', type: 'nominal', title: 'sample', legend: { orient: 'top' }, scale: { scheme: 'dark2' } },
        tooltip: [{ field: 'feature' }, { field: 'sample' }, { field: 'x', format: '.4~f' }, { field: 'xHat', format: '.4f' }, { field: 'y', format: '.4f' }],
      },
    });
    return {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      title,
      width: 'container',
      height: 30 * features,
      data: { name: 'points' },
      params: after ? [{ name: 'range', value: [-2, 2] }] : [],
      layer: [
        { mark: { type: 'rule', color: '#ddd' }, encoding: { y: { field: 'feature', type: 'nominal' } } },
        ...(after ? [dots('xHat', false)] : []),
        dots(after ? 'y' : 'x', true),
      ],
    };
  };
  let plots: Plot[] = [];
  const mountStrips = (features: number): void => {
    for (const p of plots) p.destroy();
    plots = [
      Plot.lite(root.querySelector('#worked-plot-before')!, strip('x, as typed', features, false) as never),
      Plot.lite(root.querySelector('#worked-plot-after')!, strip('x̂ (rings) and y = γ·x̂ + β (dots)', features, true) as never),
    ];
  };

  const cell = (text: string, cls = '', id = ''): HTMLTableCellElement => {
    const td = document.createElement('td');
    td.textContent = text;
    if (cls) td.className = cls;
    if (id) td.dataset.cell = id;
    return td;
  };
  const rowHead = (html: string, sep = false): HTMLTableRowElement => {
    const tr = document.createElement('tr');
    if (sep) tr.className = 'sep';
    const th = document.createElement('th');
    th.innerHTML = html;
    tr.append(th);
    return tr;
  };
  const slider = (values: number[], j: number, min: number, max: number, label: string): HTMLTableCellElement => {
    const td = document.createElement('td');
    const input = Object.assign(document.createElement('input'), { type: 'range', min, max, step: 0.05, value: values[j] });
    input.setAttribute('aria-label', `${label} of feature ${j + 1}`);
    const out = document.createElement('output');
    out.textContent = values[j].toFixed(2);
    input.addEventListener('input', () => {
      values[j] = Number(input.value);
      out.textContent = values[j].toFixed(2);
      compute();
    });
    td.append(input, ' ', out);
    return td;
  };

  /** Rebuilds the whole table (shape changed); value edits only refresh the computed cells. */
  function build(): void {
    const c = batch[0].length;
    table.replaceChildren();
    const head = document.createElement('thead');
    const hr = rowHead('');
    for (let j = 0; j < c; j++) {
      const th = document.createElement('th');
      th.innerHTML = `<span class="long">feature </span>${j + 1}`;
      hr.append(th);
    }
    head.append(hr);
    const body = document.createElement('tbody');
    batch.forEach((row, i) => {
      const tr = rowHead(`x${sub(i)}`);
      row.forEach((v, j) => {
        const td = document.createElement('td');
        const input = Object.assign(document.createElement('input'), { type: 'number', step: 'any', value: String(v) });
        input.inputMode = 'decimal';
        input.setAttribute('aria-label', `sample ${i + 1}, feature ${j + 1}`);
        input.addEventListener('input', () => {
          const value = input.value.trim() === '' ? NaN : Number(input.value);
          input.classList.toggle('invalid', !Number.isFinite(value));
          if (Number.isFinite(value)) {
            batch[i][j] = value;
            compute();
          }
        });
        td.append(input);
        tr.append(td);
      });
      body.append(tr);
    });
    const add = (tr: HTMLTableRowElement, make: (j: number) => HTMLTableCellElement): void => {
      for (let j = 0; j < c; j++) tr.append(make(j));
      body.append(tr);
    };
    add(rowHead('mean μ', true), (j) => cell('', '', `mean-${j}`));
    add(rowHead('variance σ² <small>(÷N)</small>'), (j) => cell('', '', `var-${j}`));
    batch.forEach((_, i) => add(rowHead(`x̂${sub(i)}`, i === 0), (j) => cell('', 'xhat', `xhat-${i}-${j}`)));
    add(rowHead('γ (scale)', true), (j) => slider(gamma, j, -2, 3, 'gamma'));
    add(rowHead('β (shift)'), (j) => slider(beta, j, -3, 3, 'beta'));
    batch.forEach((_, i) => add(rowHead(`y${sub(i)}`, i === 0), (j) => cell('', '', `y-${i}-${j}`)));
    table.append(head, body);
    mountStrips(c);
    compute();
  }

  function compute(): void {
    let r: NormalizeResult;
    try {
      r = normalizeBatch(batch, gamma, beta);
    } catch (e) {
      error.textContent = (e as Error).message;
      error.hidden = false;
      table.querySelectorAll<HTMLElement>('td[data-cell]').forEach((td) => (td.textContent = '–'));
      return;
    }
    error.hidden = true;
    const set = (id: string, v: number): void => {
      table.querySelector<HTMLElement>(`[data-cell="${id}"]`)!.textContent = fmt(v);
    };
    r.mean.forEach((v, j) => set(`mean-${j}`, v));
    r.variance.forEach((v, j) => set(`var-${j}`, v));
    r.xHat.forEach((row, i) => row.forEach((v, j) => set(`xhat-${i}-${j}`, v)));
    r.y.forEach((row, i) => row.forEach((v, j) => set(`y-${i}-${j}`, v)));
    const points = batch.flatMap((row, i) =>
      row.map((x, j) => ({ feature: `feature ${j + 1}`, sample: `x${sub(i)}`, x, xHat: r.xHat[i][j], y: r.y[i][j] })),
    );
    // A fixed, symmetric axis for the normalised side, so moving gamma and beta moves the dots.
    const reach = Math.max(2, ...points.map((p) => Math.ceil(Math.abs(p.y))));
    void plots[0].set({ points });
    plots[1].view.signal('range', [-reach, reach]);
    void plots[1].set({ points });
  }

  root.querySelector('.controls')!.addEventListener('click', (e) => {
    const act = (e.target as HTMLElement).dataset.act;
    if (!act) return;
    const c = batch[0].length;
    if (act === 'classic') {
      batch = CLASSIC_BATCH.map((r) => [...r]);
      gamma = [1, 1, 1, 1];
      beta = [0, 0, 0, 0];
    } else if (act === 'random') {
      // Features on different scales and offsets, from a seeded generator.
      batch = batch.map(() => Array.from({ length: c }, (_, j) => Math.round((j * 3 + 10 ** (j % 3) * rng.normal()) * 10) / 10));
    } else if (act === 'add-row' && batch.length < 8) {
      batch.push(batch[batch.length - 1].map((v) => v + 1));
    } else if (act === 'del-row' && batch.length > 1) {
      batch.pop();
    } else if (act === 'add-col' && c < 6) {
      batch.forEach((row, i) => row.push(i * 2));
      gamma.push(1);
      beta.push(0);
    } else if (act === 'del-col' && c > 1) {
      batch.forEach((row) => row.pop());
      gamma.pop();
      beta.pop();
    }
    build();
  });

  build();
}

