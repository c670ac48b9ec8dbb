/**
 * Checkpoints of the lab's runs, for `--resume` and `predict`:
 *
 *   <dir>/checkpoints/<run>.safetensors        the model (PyTorch keys + architecture, src/io/checkpoint.ts),
 *                                              with the run's config and progress in the metadata
 *   <dir>/checkpoints/<run>.optimizer.safetensors  the optimizer's state (SGD momentum buffers,
 *                                              Adam moments), keys as in PyTorch's optimizer
 *                                              state_dict: `state.<i>.momentum_buffer`, `state.<i>.exp_avg`, ...
 *
 * Both are written atomically, the optimizer first; each records the step, and a resume takes
 * the optimizer state of the model's step. A save first moves the optimizer file of the last
 * complete pair to `<run>.optimizer.previous.safetensors`, so that a process killed between the
 * two writes (Ctrl-C: training is synchronous) leaves a model whose optimizer state is still
 * there. The batch order is not saved: it is replayed from the seed.
 */
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { saveCheckpoint } from '../../src/io/checkpoint.js';
import { loadSafetensors, saveSafetensors } from '../../src/io/safetensors.js';
import { checkProgress, createMlpTrainer, type MlpConfig, type MlpData, type MlpTrainer } from '../../src/experiments/mnistMlp.js';

const CONFIG_KEY = 'batchnorm.lab.config';
const PROGRESS_KEY = 'batchnorm.lab.progress';
const DATA_KEY = 'batchnorm.lab.data';

/**
 * What a run was trained and tested on, to refuse a resume on other data (another --limit or
 * --data): the image counts and an FNV-1a hash of every label and every 61st pixel byte.
 */
export function dataFingerprint(data: MlpData): string {
  let h = 0x811c9dc5;
  const mix = (v: number) => {
    h = Math.imul(h ^ v, 0x01000193);
  };
  for (const set of [data.train, data.test]) {
    for (let i = 0; i < set.labels.length; i++) mix(set.labels[i]);
    for (let i = 0; i < set.images.length; i += 61) mix(Math.round(set.images[i] * 255));
  }
  return `${data.train.n} training and ${data.test.n} test images, hash ${(h >>> 0).toString(16).padStart(8, '0')}`;
}

/** A file-name-safe form of a run's name: 'with BN, lr 0.5' -> 'with-bn-lr-0.5'. */
export function runSlug(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9.]+/g, '-').replace(/^-|-$/g, '');
}

export function checkpointPaths(dir: string, name: string): { model: string; optimizer: string; previousOptimizer: string } {
  const base = join(dir, 'checkpoints', runSlug(name));
  return { model: `${base}.safetensors`, optimizer: `${base}.optimizer.safetensors`, previousOptimizer: `${base}.optimizer.previous.safetensors` };
}

/** Trainers whose files on disk are a complete model/optimizer pair (saved or resumed by this process). */
const savedPair = new WeakSet<MlpTrainer>();

/** Saves a run: optimizer state first, then the model with config and progress (both atomic). */
export function saveRun(dir: string, trainer: MlpTrainer, data: MlpData): string {
  const paths = checkpointPaths(dir, trainer.config.name);
  mkdirSync(join(dir, 'checkpoints'), { recursive: true });
  const progress = trainer.progress();
  const step = String(progress.stepsDone);
  // The last complete pair's optimizer state stays until the new model is written.
  if (savedPair.has(trainer) && existsSync(paths.optimizer)) renameSync(paths.optimizer, paths.previousOptimizer);
  saveSafetensors(paths.optimizer, trainer.optimizer.stateDict(), { step });
  saveCheckpoint(paths.model, trainer.model, {
    step, dataset: trainer.config.dataset, [CONFIG_KEY]: JSON.stringify(trainer.config), [PROGRESS_KEY]: JSON.stringify(progress),
    [DATA_KEY]: dataFingerprint(data),
  });
  savedPair.add(trainer);
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
  const parse = (key: string): unknown => {
    try {
      return JSON.parse(meta[key]);
    } catch (e) {
      throw new Error(`${paths.model}: metadata "${key}" is not valid JSON (${(e as Error).message})`);
    }
  };
  const savedConfig = parse(CONFIG_KEY) as MlpConfig;
  if (savedConfig === null || typeof savedConfig !== 'object' || Array.isArray(savedConfig) || !Number.isSafeInteger(savedConfig.steps) || savedConfig.steps <= 0) {
    throw new Error(`${paths.model}: metadata "${CONFIG_KEY}" should be a run config with a positive integer "steps" (got ${meta[CONFIG_KEY].slice(0, 200)})`);
  }
  const progress = checkProgress(parse(PROGRESS_KEY), savedConfig.steps, `${paths.model}: metadata "${PROGRESS_KEY}"`);
  for (const key of new Set([...Object.keys(savedConfig), ...Object.keys(config)]) as Set<keyof MlpConfig>) {
    if (MAY_CHANGE.has(key)) continue;
    const a = JSON.stringify(savedConfig[key]);
    const b = JSON.stringify(config[key]);
    if (a !== b) {
      throw new Error(`${paths.model}: cannot resume: the checkpoint was made with ${key} = ${a}, this run asks for ${b} (use the same settings, or drop --resume to start over)`);
    }
  }
  // Checkpoints from before the data was recorded carry no fingerprint: nothing to compare.
  const fingerprint = dataFingerprint(data);
  if (meta[DATA_KEY] !== undefined && meta[DATA_KEY] !== fingerprint) {
    throw new Error(`${paths.model}: cannot resume: the checkpoint was trained on ${meta[DATA_KEY]}, this run has ${fingerprint} (use the same --limit and --data, or drop --resume to start over)`);
  }
  // The optimizer state of the model's step: the current file, or the previous one when the
  // process stopped between writing the optimizer and the model.
  const candidates = [paths.optimizer, paths.previousOptimizer].filter((p) => existsSync(p));
  if (candidates.length === 0) throw new Error(`${paths.optimizer}: missing (the optimizer state saved with ${paths.model})`);
  const loaded: { path: string; file: ReturnType<typeof loadSafetensors> }[] = [];
  for (const p of candidates) {
    loaded.push({ path: p, file: loadSafetensors(p) }); // the previous file only when the current one does not match
    if (loaded.at(-1)!.file.metadata.step === meta.step) break;
  }
  const match = loaded.find((c) => c.file.metadata.step === meta.step);
  if (!match) {
    const steps = loaded.map((c) => (c.path === paths.optimizer ? `step ${c.file.metadata.step}` : `step ${c.file.metadata.step} in the previous file`));
    throw new Error(`${paths.optimizer}: optimizer state is from ${steps.join(' and ')}, the model from step ${meta.step}; the checkpoint is inconsistent`);
  }
  const optimizer = match.file;
  const optimizerPath = match.path;
  // The step that diverged made no update; every other one filled the state of every parameter.
  const updates = progress.stepsDone - (progress.diverged ? 1 : 0);
  if (updates > 0 && (config.optimizer === 'adam' || config.momentum > 0) && !Object.keys(optimizer.tensors).some((k) => k.startsWith('state.'))) {
    throw new Error(`${optimizerPath}: holds no optimizer state, but the run has made ${updates} updates with ${config.optimizer === 'adam' ? 'Adam' : 'SGD momentum'}; the checkpoint is incomplete`);
  }
  if (progress.stepsDone > config.steps) {
    throw new Error(`${paths.model}: cannot resume: the checkpoint has trained ${progress.stepsDone} steps, this run asks for ${config.steps} (--steps may grow, not shrink)`);
  }
  const trainer = createMlpTrainer(config, data, { resume: progress });
  // A run that diverged is over: what it has to give is its curve and where it diverged. Its
  // BatchNorm statistics (or weights) are not finite, which a load refuses, so they are left
  // in the file (the lab does not save this trainer again).
  if (progress.diverged) return trainer;
  try {
    trainer.model.loadStateDict(saved.tensors);
  } catch (e) {
    throw new Error(`${paths.model}: ${(e as Error).message}`);
  }
  try {
    trainer.optimizer.loadStateDict(optimizer.tensors);
  } catch (e) {
    throw new Error(`${optimizerPath}: ${(e as Error).message}`);
  }
  // The files are a complete pair again when the optimizer state came from the current file.
  if (optimizerPath === paths.optimizer) savedPair.add(trainer);
  return trainer;
}
