// ELK runs in a Web Worker (its 1.5 MB script is parsed there, not in the page, and a big
// layout does not freeze scrolling or typing). The worker file is a same-origin asset, which
// the server's CSP allows (worker-src 'self'). If it cannot start, ELK's in-page build is
// loaded instead: slower to load, same answer.
import type { ELK, ElkNode } from 'elkjs/lib/elk-api';
import ElkApi from 'elkjs/lib/elk-api.js';
import workerUrl from 'elkjs/lib/elk-worker.min.js?url';
import { warmUpGraph } from './layout';

type Engine = { layout: (g: ElkNode) => Promise<ElkNode>; dead: () => boolean };

let engine: Promise<Engine> | null = null;

async function startWorker(): Promise<Engine> {
  const w = new Worker(workerUrl, { name: 'faultline-layout' });
  let fail: (e: Error) => void = () => {};
  let dead = false;
  const failed = new Promise<never>((_, reject) => {
    fail = reject;
  });
  failed.catch(() => {}); // observed by the races below
  w.addEventListener('error', (ev) => {
    ev.preventDefault();
    dead = true;
    fail(new Error(ev.message || 'the layout worker stopped'));
  });
  const elk: ELK = new ElkApi({ workerFactory: () => w, algorithms: ['layered'] });
  // The first answer proves the worker loaded.
  const ready = elk.knownLayoutAlgorithms();
  // Queued before any real layout; its failure would show in the real one.
  elk.layout(warmUpGraph()).catch(() => {});
  await Promise.race([ready, failed]);
  performance.mark('topology:worker-ready');
  return { layout: (g) => Promise.race([elk.layout(g), failed]), dead: () => dead };
}

async function startInPage(): Promise<Engine> {
  const { default: Bundled } = await import('elkjs/lib/elk.bundled.js');
  const elk = new Bundled();
  return { layout: (g) => elk.layout(g), dead: () => false };
}

function getEngine(): Promise<Engine> {
  if (!engine) {
    engine = startWorker().catch((e: unknown) => {
      console.warn('topology: the layout worker did not start, laying out in the page', e);
      return startInPage();
    });
  }
  return engine;
}

/** layout runs ELK; a worker that dies is replaced by the in-page engine. */
export async function layout(g: ElkNode): Promise<ElkNode> {
  const e = await getEngine();
  try {
    performance.mark('topology:layout-start');
    const laid = await e.layout(g);
    performance.mark('topology:layout-end');
    return laid;
  } catch (err) {
    // ELK's own errors (a graph it cannot lay out) are thrown again as they are.
    if (!e.dead()) throw err;
    if ((await getEngine()) === e) engine = startInPage();
    return (await getEngine()).layout(g);
  }
}
