import type { Command } from 'commander';
import { loadMnist, type DatasetName } from '../../src/data/mnist.js';
import { loadCheckpoint, readInputShape } from '../../src/io/checkpoint.js';
import { noGrad } from '../../src/autograd/tape.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { integer } from '../parse.js';

/** A 28x28 image as text, two characters per pixel so it keeps its aspect ratio. */
export function asciiDigit(pixels: ArrayLike<number>, width = 28): string {
  const shades = ' .:-=+*#%@';
  const lines: string[] = [];
  for (let r = 0; r < pixels.length / width; r++) {
    let line = '';
    for (let c = 0; c < width; c++) {
      const ch = shades[Math.min(shades.length - 1, Math.floor(pixels[r * width + c] * shades.length))];
      line += ch + ch;
    }
    lines.push(line.trimEnd());
  }
  // Drop the empty rows above and below the digit.
  while (lines.length && lines[0] === '') lines.shift();
  while (lines.length && lines[lines.length - 1] === '') lines.pop();
  return lines.join('\n');
}

const FASHION = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];

export function registerPredict(program: Command): void {
  program
    .command('predict')
    .description('classify one test image with a saved model (a batch of one, eval mode: BatchNorm uses its running statistics)')
    .requiredOption('--checkpoint <file>', 'a model saved by the lab, required (e.g. runs/mnist/checkpoints/with-bn.safetensors)')
    .requiredOption('--index <i>', 'which test image (0-9999), required', integer('--index', 0))
    .option('--dataset <name>', "'mnist' or 'fashion-mnist' (default: the one the checkpoint was trained on)")
    .option('--data <dir>', 'a directory with your own copy of the IDX files')
    .option('--train-mode', 'run the model in training mode instead (shows why inference needs eval mode)', false)
    .option('--no-picture', 'do not draw the image')
    .action((o: { checkpoint: string; index: number; dataset?: string; data?: string; trainMode: boolean; picture: boolean }) => {
      const { model, metadata } = loadCheckpoint(o.checkpoint);
      const dataset = (o.dataset ?? metadata.dataset ?? 'mnist') as DatasetName;
      const { test } = loadMnist({ dataset, dataDir: o.data, limit: o.index + 1 });
      if (o.index >= test.n) throw new Error(`--index ${o.index} is out of range: the test set has ${test.n} images`);
      const pixels = test.height * test.width;
      const image = test.images.subarray(o.index * pixels, (o.index + 1) * pixels);
      // A conv net's checkpoint records its input shape ([1, 1, 28, 28]); an MLP takes [1, 784].
      const x = new Tensor(Float32Array.from(image), readInputShape(metadata, o.checkpoint) ?? [1, pixels]);
      model.train(o.trainMode);
      let logits: Float32Array | Float64Array;
      try {
        logits = noGrad(() => model.forward(x)).data;
      } catch (e) {
        if (!o.trainMode) throw e;
        // What --train-mode is there to show: BatchNorm in training mode normalises with the batch's
        // own statistics, and a batch of one has none.
        console.log(
          `training mode: ${(e as Error).message}\n` +
            'In training mode BatchNorm normalises each feature with the mean and variance of the batch, and one\n' +
            'image alone has no spread to measure (its variance is 0). That is why inference runs in eval mode,\n' +
            'normalising with the running statistics kept during training: drop --train-mode to classify the image.',
        );
        return;
      }
      const max = Math.max(...logits);
      const exps = Array.from(logits, (v) => Math.exp(v - max));
      const total = exps.reduce((a, b) => a + b, 0);
      const probs = exps.map((e) => e / total);
      const order = probs.map((p, k) => [p, k]).sort((a, b) => b[0] - a[0]);
      const name = (k: number): string => (dataset === 'fashion-mnist' ? `${k} (${FASHION[k]})` : String(k));
      const predicted = order[0][1];
      const label = test.labels[o.index];
      if (o.picture) console.log(asciiDigit(image, test.width));
      console.log(`${dataset} test image ${o.index}: predicted ${name(predicted)} with probability ${order[0][0].toFixed(4)}; true label ${name(label)} (${predicted === label ? 'correct' : 'wrong'})`);
      console.log(`runner-up: ${name(order[1][1])} (${order[1][0].toFixed(4)}); model from ${o.checkpoint}${metadata.step ? ` at step ${metadata.step}` : ''}, ${o.trainMode ? 'training' : 'eval'} mode`);
    });
}
