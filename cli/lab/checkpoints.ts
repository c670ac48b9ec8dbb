/**
 * Checkpoints of the lab's runs, for `--resume` and `predict`:
 *
 *   <dir>/checkpoints/<run>.safetensors        the model (PyTorch keys + architecture, src/io/checkpoint.ts),
 *                                              with the run's config and progress in the metadata
 *   <dir>/checkpoints/<run>.optimizer.safetensors  the optimizer's state (SGD momentum buffers,
 *                                              Adam moments), keys as in PyTorch's optimizer
 *                                              state_dict: `state.<i>.momentum_buffer`, `state.<i>.exp_avg`, ...
 *
 * Both are written atomically, the optimizer first; each records the step, and a resume checks
 * that the two agree. The batch order is not saved: it is replayed from the seed.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { saveCheckpoint } from '../../src/io/checkpoint.js';
import { loadSafetensors, saveSafetensors } from '../../src/io/safetensors.js';
import type { StateDict } from '../../src/nn/module.js';
import { Adam } from '../../src/optim/adam.js';
import type { Optimizer } from '../../src/optim/optimizer.js';
import { SGD } from '../../src/optim/sgd.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { createMlpTrainer, type MlpConfig, type MlpData, type MlpProgress, type MlpTrainer } from '../../src/experiments/mnistMlp.js';

const CONFIG_KEY = 'batchnorm.lab.config';
const PROGRESS_KEY = 'batchnorm.lab.progress';

/** A file-name-safe form of a run's name: 'with BN, lr 0.5' -> 'with-bn-lr-0.5'. */
export function runSlug(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9.]+/g, '-').replace(/^-|-$/g, '');
}

export function checkpointPaths(dir: string, name: string): { model: string; optimizer: string } {
  const base = join(dir, 'checkpoints', runSlug(name));
  return { model: `${base}.safetensors`, optimizer: `${base}.optimizer.safetensors` };
}

// The optimizers keep their state in private maps (they have no state_dict yet); this is the one
// place that reads them, keyed by parameter index as PyTorch's optimizer state_dict is.
type SgdInternals = { buffers: Map<unknown, Float64Array> };
type AdamInternals = { state: Map<unknown, { step: number; m: Float64Array; v: Float64Array }> };

function vec(a: Float64Array): Tensor {
  return new Tensor(Float64Array.from(a), [a.length], 'float64');
}

/** The optimizer's state as tensors with PyTorch's names. */
export function optimizerStateDict(opt: Optimizer): StateDict {
  const out: StateDict = {};
  opt.params.forEach((p, i) => {
    if (opt instanceof SGD) {
      const buf = (opt as unknown as SgdInternals).buffers.get(p);
      if (buf) out[`state.${i}.momentum_buffer`] = vec(buf);
    } else if (opt instanceof Adam) {
      const s = (opt as unknown as AdamInternals).state.get(p);
      if (s) {
        out[`state.${i}.step`] = new Tensor(Float64Array.of(s.step), [], 'float64');
        out[`state.${i}.exp_avg`] = vec(s.m);
        out[`state.${i}.exp_avg_sq`] = vec(s.v);
      }
    }
  });
  return out;
}

/** Loads what `optimizerStateDict` saved back into a freshly built optimizer over the same parameters. */
export function loadOptimizerStateDict(opt: Optimizer, sd: StateDict, source: string): void {
  const get = (key: string, size: number): Float64Array => {
    const t = sd[key];
    if (t.size !== size) throw new Error(`${source}: ${key} has ${t.size} values, the parameter has ${size}`);
    return Float64Array.from(t.data);
  };
  opt.params.forEach((p, i) => {
    if (opt instanceof SGD && sd[`state.${i}.momentum_buffer`]) {
      (opt as unknown as SgdInternals).buffers.set(p, get(`state.${i}.momentum_buffer`, p.size));
    } else if (opt instanceof Adam && sd[`state.${i}.exp_avg`]) {
      (opt as unknown as AdamInternals).state.set(p, {
        step: sd[`state.${i}.step`].item(), m: get(`state.${i}.exp_avg`, p.size), v: get(`state.${i}.exp_avg_sq`, p.size),
      });
    }
  });
}

/** Saves a run: optimizer state first, then the model with config and progress (both atomic). */
export function saveRun(dir: string, trainer: MlpTrainer): string {
  const paths = checkpointPaths(dir, trainer.config.name);
  mkdirSync(join(dir, 'checkpoints'), { recursive: true });
  const progress = trainer.progress();
  const step = String(progress.stepsDone);
  saveSafetensors(paths.optimizer, optimizerStateDict(trainer.optimizer), { step });
  saveCheckpoint(paths.model, trainer.model, {
    step, dataset: trainer.config.dataset, [CONFIG_KEY]: JSON.stringify(trainer.config), [PROGRESS_KEY]: JSON.stringify(progress),
  });
  return paths.model;
}

// Settings that may change on resume: the length of the run and how often it is measured.
const MAY_CHANGE = new Set<keyof MlpConfig>(['steps', 'evalEvery', 'evalLimit']);

/**
 * A trainer continuing the saved run of the same name, or null when there is no checkpoint.
 * Throws when the saved run used other settings (anything but steps and evaluation).
 */
export function resumeRun(dir: string, config: MlpConfig, data: MlpData): MlpTrainer | null {
  const paths = checkpointPaths(dir, config.name);
  if (!existsSync(paths.model)) return null;
  const saved = loadSafetensors(paths.model);
  const meta = saved.metadata;
  if (!meta[CONFIG_KEY] || !meta[PROGRESS_KEY]) throw new Error(`${paths.model}: not a lab checkpoint (no run config/progress in its metadata)`);
  const savedConfig = JSON.parse(meta[CONFIG_KEY]) as MlpConfig;
  const progress = JSON.parse(meta[PROGRESS_KEY]) as MlpProgress;
  for (const key of new Set([...Object.keys(savedConfig), ...Object.keys(config)]) as Set<keyof MlpConfig>) {
    if (MAY_CHANGE.has(key)) continue;
    const a = JSON.stringify(savedConfig[key]);
    const b = JSON.stringify(config[key]);
    if (a !== b) {
      throw new Error(`${paths.model}: cannot resume: the checkpoint was made with ${key} = ${a}, this run asks for ${b} (use the same settings, or drop --resume to start over)`);
    }
  }
  const optimizer = existsSync(paths.optimizer) ? loadSafetensors(paths.optimizer) : null;
  if (!optimizer) throw new Error(`${paths.optimizer}: missing (the optimizer state saved with ${paths.model})`);
  if (optimizer.metadata.step !== meta.step) {
    throw new Error(`${paths.optimizer}: optimizer state is from step ${optimizer.metadata.step}, the model from step ${meta.step}; the checkpoint is inconsistent`);
  }
  const trainer = createMlpTrainer(config, data, { resume: progress });
  trainer.model.loadStateDict(saved.tensors);
  loadOptimizerStateDict(trainer.optimizer, optimizer.tensors, paths.optimizer);
  return trainer;
}
