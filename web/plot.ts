/**
 * Thin helpers over vega's View API (vega and vega-lite are the plotting libraries; no
 * vega-embed needed): mount a spec into an element, then replace named datasets as the
 * numbers change.
 */
import { parse, View, type Spec } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

/** Shared look: the page's font, quiet axes, colours that survive a phone screen. */
export const COLORS = { plain: '#d1495b', bn: '#00798c', accent: '#edae49', ink: '#30343f' } as const;

/** The training runs' names on the page, and their colours. */
export const RUN_LABEL = { plain: 'without BN', bn: 'with BN', noisy: 'noisy BN' } as const;
export const RUN_COLOR = { plain: COLORS.plain, bn: COLORS.bn, noisy: COLORS.accent } as const;

const config = {
  font: 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif',
  // labelSeparation: labels closer than 6 px count as overlapping and are thinned (at 400 px a flush-right "200" ran into "180").
  axis: { labelFontSize: 11, titleFontSize: 12, titleFontWeight: 500, gridColor: '#e8e8e8', domainColor: '#888', tickColor: '#888', labelSeparation: 6 },
  legend: { labelFontSize: 11, titleFontSize: 11, orient: 'top' },
  title: { fontSize: 13, fontWeight: 600, anchor: 'start', subtitleFontSize: 11, subtitleColor: '#6b7080' },
  view: { stroke: null },
} as const;

/**
 * A vega-lite title may not be wider than its chart (the element, less vega-lite's padding of 5 on
 * each side): with autosize fit-x a wider one took its excess off the plot's width at every redraw,
 * down to nothing (section 5 on a phone). Long titles take a subtitle rather than be cut.
 */
const liteConfig = { ...config, title: { ...config.title, limit: { expr: 'containerSize()[0] - 10' } } } as const;

export class Plot {
  private constructor(readonly view: View) {}

  /**
   * A vega-lite chart, as wide as its element (give it `width: 'container'`). The layout is
   * recomputed on every update (`resize`): axis labels appear only once data arrives.
   */
  static lite(el: HTMLElement, spec: TopLevelSpec, renderer: 'svg' | 'canvas' = 'svg'): Plot {
    const full = { config: liteConfig, autosize: { type: 'fit-x', contains: 'padding', resize: true }, ...spec } as TopLevelSpec;
    return Plot.mount(el, compile(full).spec, renderer);
  }

  /** A raw vega chart (for what vega-lite cannot draw, such as isocontours). */
  static vega(el: HTMLElement, spec: Spec): Plot {
    return Plot.mount(el, { config: config as Spec['config'], ...spec });
  }

  private static mount(el: HTMLElement, spec: Spec, renderer: 'svg' | 'canvas' = 'svg'): Plot {
    el.classList.add('plot');
    const view = new View(parse(spec), { renderer, container: el, hover: true });
    void view.runAsync();
    return new Plot(view);
  }

  /** Replaces named datasets and re-renders. */
  async set(data: Record<string, object[]>): Promise<void> {
    for (const [name, values] of Object.entries(data)) this.view.data(name, values);
    await this.view.runAsync();
  }

  /** Removes the chart and its listeners. */
  destroy(): void {
    this.view.finalize();
    this.view.container()?.replaceChildren();
  }

  /** Sets a signal (e.g. a width) and re-renders. */
  async signal(name: string, value: unknown): Promise<void> {
    this.view.signal(name, value);
    await this.view.runAsync();
  }
}

/**
 * `fn` called at most once per `ms` milliseconds, in a task of its own; of the calls in between,
 * the last one's arguments win, so the latest state is always drawn.
 */
export function throttle<A extends unknown[]>(fn: (...args: A) => void, ms: number): (...args: A) => void {
  let last = -Infinity;
  let pending: A | null = null;
  return (...args) => {
    if (!pending) setTimeout(() => {
      last = performance.now();
      const latest = pending!;
      pending = null;
      fn(...latest);
    }, Math.max(0, last + ms - performance.now()));
    pending = args;
  };
}

/** Calls `fn(width)` now and whenever `el` changes width (for charts with a fixed aspect ratio). */
export function onWidth(el: HTMLElement, fn: (width: number) => void): void {
  let last = -1;
  const check = (): void => {
    const w = Math.floor(el.clientWidth);
    if (w > 0 && w !== last) {
      last = w;
      fn(w);
    }
  };
  new ResizeObserver(check).observe(el);
  check();
}
