/**
 * The web lab: five sections, each computed live by the batchnorm library (imported from
 * ../src). Training runs in a Web Worker; everything else is cheap enough for the page.
 */
import { describeRuntime, runtimeInfo } from './lab/runtime.js';
import type { FromWorker, ToWorker } from './protocol.js';
import { mountDrift } from './sections/drift.js';
import { mountInference } from './sections/inference.js';
import { mountRavine } from './sections/ravine.js';
import { mountSanturkar } from './sections/santurkar.js';
import { mountWorked } from './sections/worked.js';

const $ = (id: string): HTMLElement => document.getElementById(id)!;

// Which kernels run here and in the worker: "shared memory" needs a cross-origin-isolated page. The
// page's own thread has one thread (a page may not block on workers); training runs in the worker.
const pageRuntime = describeRuntime(runtimeInfo());
$('runtime').textContent = `Kernels: this page ${pageRuntime}; training worker starting…`;

mountWorked($('worked'));
mountRavine($('ravine'));

const worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' });
const send = (msg: ToWorker): void => worker.postMessage(msg);
const drift = mountDrift($('drift'), send);
const santurkar = mountSanturkar($('santurkar'), send);
const sections = [drift, mountInference($('inference'), send), santurkar];

worker.onmessage = (e: MessageEvent<FromWorker>) => {
  const msg = e.data;
  if (msg.type === 'error') console.error(`training worker: ${msg.message}`);
  if (msg.type === 'ready') {
    $('runtime').textContent = `Kernels: this page ${pageRuntime}; training worker ${describeRuntime(msg.runtime)}.`;
    $('runtime').dataset.worker = JSON.stringify(msg.runtime);
  }
  for (const section of sections) section.onMessage(msg);
};
worker.onerror = (e) => {
  for (const id of ['drift-status', 'santurkar-status']) $(id).textContent = `the training worker failed: ${e.message}`;
};
send({ type: 'init', dataUrl: new URL('mnist/', document.baseURI).href, labs: [drift.settings(), santurkar.settings()] });
