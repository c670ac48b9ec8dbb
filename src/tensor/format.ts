import type { FloatArray } from '../kernels/types.js';
import { sizeOf } from './shape.js';

/**
 * A tensor's values as PyTorch prints them (torch/_tensor_str.py, default print options:
 * precision 4, linewidth 80, threshold 1000, edgeitems 3): one width for every element;
 * integers as `1.`; scientific notation when the values span more than 1000x, exceed 1e8 or
 * go below 1e-4; `...` in place of the middle of dims when there are more than 1000 elements.
 */
const PRECISION = 4;
const LINEWIDTH = 80;
const THRESHOLD = 1000;
const EDGEITEMS = 3;

/** An n-d view of the values to print: nested arrays, with '...' where elements were left out. */
type Nested = number | '...' | Nested[];

export function formatValues(data: FloatArray, shape: readonly number[], integer: boolean, indent: number): string {
  const summarize = data.length > THRESHOLD;
  const nested = build(data, shape, 0, 0, summarize);
  const formatter = makeFormatter(leaves(nested), integer);
  return render(nested, shape.length, indent, formatter);
}

function build(data: FloatArray, shape: readonly number[], dim: number, offset: number, summarize: boolean): Nested {
  if (dim === shape.length) return data[offset];
  const n = shape[dim];
  const stride = sizeOf(shape.slice(dim + 1));
  const at = (i: number) => build(data, shape, dim + 1, offset + i * stride, summarize);
  if (summarize && n > 2 * EDGEITEMS) {
    return [...Array.from({ length: EDGEITEMS }, (_, i) => at(i)), '...', ...Array.from({ length: EDGEITEMS }, (_, i) => at(n - EDGEITEMS + i))];
  }
  return Array.from({ length: n }, (_, i) => at(i));
}

function leaves(n: Nested): number[] {
  if (typeof n === 'number') return [n];
  if (n === '...') return [];
  return n.flatMap(leaves);
}

interface Formatter {
  width: number;
  format(v: number): string;
}

function makeFormatter(values: number[], integer: boolean): Formatter {
  const special = (v: number) => (Number.isNaN(v) ? 'nan' : v > 0 ? 'inf' : '-inf');
  if (integer) {
    const width = Math.max(1, ...values.map((v) => String(v).length));
    return { width, format: (v) => String(v).padStart(width) };
  }
  // As PyTorch: the mode and the width come from the nonzero finite values.
  const nonzero = values.filter((v) => Number.isFinite(v) && v !== 0);
  const abs = nonzero.map(Math.abs);
  const intMode = nonzero.every((v) => Number.isInteger(v));
  const max = Math.max(...abs);
  const min = Math.min(...abs);
  const sci = nonzero.length > 0 && (max / min > 1000 || max > 1e8 || (!intMode && min < 1e-4));
  const text = sci
    ? (v: number) => v.toExponential(PRECISION).replace(/e([+-])(\d)$/, 'e$10$2')
    : intMode ? (v: number) => `${v.toFixed(0)}.` : (v: number) => v.toFixed(PRECISION);
  const width = Math.max(1, ...nonzero.map((v) => text(v).length));
  return { width, format: (v) => (Number.isFinite(v) ? text(v) : special(v)).padStart(width) };
}

function render(n: Nested, ndim: number, indent: number, f: Formatter): string {
  if (typeof n === 'number') return f.format(n);
  if (ndim === 1) {
    const items = (n as (number | '...')[]).map((v) => (v === '...' ? ' ...' : f.format(v)));
    const perLine = Math.max(1, Math.floor((LINEWIDTH - indent) / (f.width + 2)));
    const lines: string[] = [];
    for (let i = 0; i < items.length; i += perLine) lines.push(items.slice(i, i + perLine).join(', '));
    return `[${lines.join(`,\n${' '.repeat(indent + 1)}`)}]`;
  }
  const slices = (n as Nested[]).map((s) => (s === '...' ? '...' : render(s, ndim - 1, indent + 1, f)));
  return `[${slices.join(`,${'\n'.repeat(ndim - 1)}${' '.repeat(indent + 1)}`)}]`;
}
