// The page's side of dagre's worker (dagre.ts says why big graphs use dagre). A worker that
// cannot start or dies is replaced by dagre in the page: slower to draw, same answer.
import type { ElkNode } from 'elkjs/lib/elk-api';

type Reply = { id: number; graph?: ElkNode; error?: string };

let worker: Worker | null = null;
let broken = false;
let seq = 0;
const waiting = new Map<number, { resolve: (g: ElkNode) => void; reject: (e: Error) => void; graph: ElkNode }>();

function start(): Worker | null {
  if (worker || broken) return worker;
  try {
    worker = new Worker(new URL('./dagre.worker.ts', import.meta.url), { type: 'module', name: 'faultline-big-layout' });
  } catch (e) {
    console.warn('topology: the big-graph layout worker did not start, laying out in the page', e);
    broken = true;
    return null;
  }
  worker.onmessage = (ev: MessageEvent<Reply>) => {
    const w = waiting.get(ev.data.id);
    if (!w) return;
    waiting.delete(ev.data.id);
    if (ev.data.graph) w.resolve(ev.data.graph);
    else w.reject(new Error(ev.data.error ?? 'the layout failed'));
  };
  worker.onerror = (ev) => {
    ev.preventDefault();
    console.warn('topology: the big-graph layout worker stopped, laying out in the page', ev.message);
    broken = true;
    worker?.terminate();
    worker = null;
    for (const [id, w] of waiting) {
      waiting.delete(id);
      inPage(w.graph).then(w.resolve, w.reject);
    }
  };
  return worker;
}

async function inPage(g: ElkNode): Promise<ElkNode> {
  const { dagreLayout } = await import('./dagre');
  return dagreLayout(g);
}

/** layoutBig lays out a big graph with dagre, in its worker when it can. */
export async function layoutBig(g: ElkNode): Promise<ElkNode> {
  performance.mark('topology:layout-start');
  const w = start();
  const id = ++seq;
  const laid = w
    ? await new Promise<ElkNode>((resolve, reject) => {
        waiting.set(id, { resolve, reject, graph: g });
        w.postMessage({ id, graph: g });
      })
    : await inPage(g);
  performance.mark('topology:layout-end');
  return laid;
}
