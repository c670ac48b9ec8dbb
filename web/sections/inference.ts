/** Section 4: running statistics converging, and one image classified in eval mode. */
import { DEFAULT_RUNNING_STATS, trackRunningStats } from '../lab/runningStats.js';
import { COLORS, Plot } from '../plot.js';
import type { Classification, FromWorker, ToWorker } from '../protocol.js';

const schema = 'https://vega.github.io/schema/vega-lite/v6.json';

function statsChart(el: HTMLElement, title: string, field: 'Mean' | 'Var', truth: number): Plot {
  const step = { field: 'step', type: 'quantitative', title: 'training step' } as const;
  return Plot.lite(el, {
    $schema: schema,
    title,
    width: 'container',
    height: 190,
    layer: [
      {
        data: { name: 'points' },
        mark: { type: 'circle', size: 14, color: '#9aa0ad', opacity: 0.7 },
        encoding: { x: step, y: { field: `batch${field}`, type: 'quantitative', title: null } },
      },
      { data: { values: [{ truth }] }, mark: { type: 'rule', strokeDash: [5, 4], color: COLORS.ink }, encoding: { y: { field: 'truth', type: 'quantitative' } } },
      {
        data: { name: 'points' },
        mark: { type: 'line', color: COLORS.bn, strokeWidth: 2.5 },
        encoding: { x: step, y: { field: `running${field}`, type: 'quantitative' } },
      },
    ],
  });
}

function probsChart(el: HTMLElement, color: string): Plot {
  return Plot.lite(el, {
    $schema: schema,
    width: 'container',
    height: 110,
    data: { name: 'probs' },
    mark: { type: 'bar', color },
    encoding: {
      x: { field: 'digit', type: 'ordinal', axis: { labelAngle: 0 }, title: null },
      y: { field: 'p', type: 'quantitative', scale: { domain: [0, 1] }, title: 'probability', axis: { format: '.0%', tickCount: 3 } },
      tooltip: [{ field: 'digit' }, { field: 'p', format: '.2%' }],
    },
  });
}

const CHANNEL_FIELDS = [
  ['gamma', 'γ (weight)', COLORS.bn],
  ['beta', 'β (bias)', COLORS.bn],
  ['runningMean', 'running_mean', COLORS.accent],
  ['runningVar', 'running_var', COLORS.accent],
] as const;

function channelChart(el: HTMLElement, field: string, title: string, color: string): Plot {
  return Plot.lite(el, {
    $schema: schema,
    title: { text: title, fontSize: 12 },
    width: 'container',
    height: 90,
    data: { name: 'channels' },
    mark: { type: 'bar', color },
    encoding: {
      x: { field: 'channel', type: 'ordinal', title: null, axis: { labelAngle: 0, values: [0, 5, 10, 15] } },
      y: { field, type: 'quantitative', title: null, axis: { tickCount: 3, format: '~r' } }, // '~r': 0, not 0.000000, before training
      tooltip: [{ field: 'channel' }, { field, format: '.4f' }],
    },
  });
}

const argmax = (p: number[]): number => p.reduce((best, v, i) => (v > p[best] ? i : best), 0);

export interface InferenceSection {
  onMessage(msg: FromWorker): void;
}

export function mountInference(root: HTMLElement, send: (msg: ToWorker) => void): InferenceSection {
  const momentum = root.querySelector<HTMLInputElement>('#rs-momentum')!;
  const momentumOut = root.querySelector<HTMLOutputElement>('#rs-momentum-value')!;
  const cumulative = root.querySelector<HTMLInputElement>('#rs-cumulative')!;
  const batchSel = root.querySelector<HTMLSelectElement>('#rs-batch')!;
  const { mean, std } = DEFAULT_RUNNING_STATS;
  const meanPlot = statsChart(root.querySelector('#rs-mean')!, 'running_mean', 'Mean', mean);
  const varPlot = statsChart(root.querySelector('#rs-var')!, 'running_var', 'Var', std * std);

  const updateStats = (): void => {
    momentum.disabled = cumulative.checked;
    momentumOut.textContent = cumulative.checked ? 'None (1/steps)' : Number(momentum.value).toFixed(2);
    const points = trackRunningStats({
      ...DEFAULT_RUNNING_STATS,
      momentum: cumulative.checked ? null : Number(momentum.value),
      batchSize: Number(batchSel.value),
    }).map((p) => ({ ...p, batchMean: Number.isNaN(p.batchMean) ? null : p.batchMean, batchVar: Number.isNaN(p.batchVar) ? null : p.batchVar }));
    void meanPlot.set({ points });
    void varPlot.set({ points });
  };
  for (const el of [momentum, cumulative, batchSel]) el.addEventListener('input', updateStats);
  updateStats();

  const canvas = root.querySelector<HTMLCanvasElement>('#digit')!;
  const next = root.querySelector<HTMLButtonElement>('#classify-next')!;
  const predEval = root.querySelector<HTMLElement>('#pred-eval')!;
  const predSingle = root.querySelector<HTMLElement>('#pred-single')!;
  const evalPlot = probsChart(root.querySelector('#probs-eval')!, COLORS.bn);
  const singlePlot = probsChart(root.querySelector('#probs-single')!, COLORS.plain);
  const trainError = root.querySelector<HTMLElement>('#train-error')!;
  let index = 0;
  const channelHost = root.querySelector<HTMLElement>('#channels')!;
  const channelPlots = CHANNEL_FIELDS.map(([field, title, color]) => {
    const el = document.createElement('div');
    channelHost.append(el);
    return channelChart(el, field, title, color);
  });

  const show = (r: Classification): void => {
    const ctx = canvas.getContext('2d')!;
    const img = ctx.createImageData(28, 28);
    for (let i = 0; i < 784; i++) {
      const v = 255 - Math.round(255 * r.pixels[i]);
      img.data.set([v, v, v, 255], 4 * i);
    }
    ctx.putImageData(img, 0, 0);
    canvas.title = `test image ${r.index}, label ${r.label}`;
    const e = argmax(r.evalProbs);
    const s = argmax(r.singleProbs);
    predEval.innerHTML =
      `eval mode, running statistics: <strong data-testid="digit">${e}</strong> ` +
      `(${(100 * r.evalProbs[e]).toFixed(1)}%; true label ${r.label}; BN ${r.placement} the sigmoid, trained ${r.step} steps)`;
    predSingle.innerHTML =
      `statistics of this one sample: <strong>${s}</strong> (${(100 * r.singleProbs[s]).toFixed(1)}%, the same for every image)`;
    void evalPlot.set({ probs: r.evalProbs.map((p, digit) => ({ digit, p })) });
    void singlePlot.set({ probs: r.singleProbs.map((p, digit) => ({ digit, p })) });
    trainError.textContent = r.trainError ? `In training mode the library refuses a batch of one: “${r.trainError}”.` : '';
    for (const p of channelPlots) void p.set({ channels: r.channels });
    root.dataset.classified = String(r.index);
  };

  next.addEventListener('click', () => send({ type: 'classify', index: ++index }));

  return {
    onMessage(msg) {
      if (msg.type === 'ready') {
        next.disabled = false;
        send({ type: 'classify', index });
      } else if (msg.type === 'classified') {
        show(msg.result);
      } else if (msg.type === 'snapshot' && msg.lab === 'drift') {
        // Keep the prediction current as the network learns.
        send({ type: 'classify', index });
      }
    },
  };
}
