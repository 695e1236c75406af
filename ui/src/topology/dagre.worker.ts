// The worker that runs dagreLayout: one graph in, its laid-out boxes (or an error) out.
import type { ElkNode } from 'elkjs/lib/elk-api';
import { dagreLayout } from './dagre';

self.onmessage = (ev: MessageEvent<{ id: number; graph: ElkNode }>) => {
  const { id, graph } = ev.data;
  try {
    self.postMessage({ id, graph: dagreLayout(graph) });
  } catch (e) {
    self.postMessage({ id, error: String(e) });
  }
};
