// report.html: a page of tables and SVG figures (written next to it), so a person looks instead of reads.
import { join } from 'node:path';
import { writeFileAtomic } from '../../src/io/atomic.js';
import { renderSvg } from './charts.js';
import { htmlTable } from './mlpLab.js';

export interface ReportSection {
  heading: string;
  /** Paragraphs of plain text. */
  text?: string[];
  /** Rows of cells, the first row the header. */
  table?: string[][];
  /** Figures: rendered to `file` (an .svg name) from a Vega-Lite spec. */
  figures?: { file: string; spec: object; alt: string }[];
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Renders the figures to SVG files in `dir` and writes `dir/report.html` (all atomically); returns its path. */
export async function writeReport(dir: string, title: string, command: string, sections: ReportSection[]): Promise<string> {
  const parts: string[] = [];
  for (const s of sections) {
    parts.push(`<h2>${esc(s.heading)}</h2>`);
    for (const t of s.text ?? []) parts.push(`<p>${esc(t)}</p>`);
    if (s.table) parts.push(htmlTable(s.table));
    if (s.figures?.length) {
      parts.push('<div class="figures">');
      for (const f of s.figures) {
        writeFileAtomic(join(dir, f.file), await renderSvg(f.spec));
        parts.push(`<figure><img src="${esc(f.file)}" alt="${esc(f.alt)}"><figcaption>${esc(f.alt)}</figcaption></figure>`);
      }
      parts.push('</div>');
    }
  }
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>
<style>
body { font: 15px/1.45 system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; color: #222; }
code { background: #f3f3f3; padding: 0.1em 0.3em; }
table { border-collapse: collapse; margin: 1em 0; } th, td { border: 1px solid #ccc; padding: 0.25em 0.7em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
.figures { display: flex; flex-wrap: wrap; gap: 1em; } figure { margin: 0; } figcaption { font-size: 13px; color: #555; max-width: 480px; }
</style></head><body>
<h1>${esc(title)}</h1>
<p>Made by <code>${esc(command)}</code> on ${esc(new Date().toISOString())}. The numbers are in <a href="results.json">results.json</a>.</p>
${parts.join('\n')}
</body></html>
`;
  const path = join(dir, 'report.html');
  writeFileAtomic(path, html);
  return path;
}
