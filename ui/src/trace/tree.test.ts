import { describe, expect, it } from 'vitest';
import { ancestors, buildTree, nanosToMs, visibleRows } from './tree';
import { bigTrace, span } from './testutil';

const ids = (m: ReturnType<typeof buildTree>, list: number[]) => list.map((i) => m.nodes[i].id);

describe('buildTree', () => {
  it('orders children by start under their parents, depth-first, with depths', () => {
    const m = buildTree([
      span('c2', 'root', 50, 80),
      span('root', '', 0, 100),
      span('g1', 'c1', 15, 20),
      span('c1', 'root', 10, 40),
    ]);
    expect(ids(m, m.order)).toEqual(['root', 'c1', 'g1', 'c2']);
    expect(m.order.map((i) => m.nodes[i].depth)).toEqual([0, 1, 2, 1]);
    expect(m.nodes[m.mainRoot].id).toBe('root');
    expect(m.duration).toBe(100);
    const root = m.nodes[m.byId.get('root')!];
    expect(root.start).toBe(0);
    expect(root.subtreeEnd).toBe(4);
    expect(m.nodes[m.byId.get('c1')!].subtreeEnd).toBe(3);
  });

  it('computes self time from the union of children clipped to the span', () => {
    const m = buildTree([span('r', '', 0, 100), span('a', 'r', 10, 40), span('b', 'r', 30, 50), span('c', 'r', 90, 130)]);
    // covered: [10,50] + [90,100] = 50
    expect(m.nodes[m.byId.get('r')!].selfTime).toBeCloseTo(50, 2);
    expect(m.nodes[m.byId.get('c')!].outsideParent).toBe(true);
    expect(m.nodes[m.byId.get('a')!].outsideParent).toBe(false);
  });

  it('makes spans with a missing parent roots (orphans), ordered by start', () => {
    const m = buildTree([span('late', 'gone', 30, 40), span('root', '', 0, 100), span('early', 'gone2', 5, 10), span('kid', 'late', 31, 32)]);
    expect(ids(m, m.roots)).toEqual(['root', 'early', 'late']);
    expect(ids(m, m.order)).toEqual(['root', 'early', 'late', 'kid']);
    expect(m.nodes[m.byId.get('late')!].orphan).toBe(true);
    expect(m.nodes[m.byId.get('root')!].orphan).toBe(false);
    expect(m.nodes[m.byId.get('kid')!].depth).toBe(1);
  });

  it('prefers a span without a parent ID as the main root even when an orphan starts first', () => {
    const m = buildTree([span('orphan', 'gone', 0, 5), span('root', '', 1, 100)]);
    expect(m.nodes[m.mainRoot].id).toBe('root');
  });

  it('keeps duplicate span IDs as rows; children attach to the first', () => {
    const m = buildTree([span('r', '', 0, 100), span('a', 'r', 10, 20), span('a', 'r', 30, 40), span('k', 'a', 12, 15)]);
    expect(m.order).toHaveLength(4);
    expect(m.nodes.filter((n) => n.duplicate)).toHaveLength(1);
    expect(m.nodes[3].parent).toBe(1);
    expect(ids(m, m.order)).toEqual(['r', 'a', 'k', 'a']);
  });

  it('turns a self-parent into a root and cuts parent cycles without hanging', () => {
    const m = buildTree([
      span('self', 'self', 0, 10),
      span('a', 'b', 5, 50),
      span('b', 'a', 6, 40),
      span('c', 'a', 7, 8),
    ]);
    expect(m.order).toHaveLength(4);
    expect(new Set(m.order).size).toBe(4);
    expect(m.nodes[m.byId.get('self')!].orphan).toBe(true);
    // Every span is placed exactly once, depths follow parents.
    for (const u of m.order) {
      const n = m.nodes[u];
      if (n.parent >= 0) expect(n.depth).toBe(m.nodes[n.parent].depth + 1);
      else expect(n.depth).toBe(0);
    }
    const cutRoots = m.roots.filter((r) => m.nodes[r].id === 'a' || m.nodes[r].id === 'b');
    expect(cutRoots).toHaveLength(1);
  });

  it('clamps inverted and missing times', () => {
    const m = buildTree([
      span('r', '', 0, 100),
      span('inv', 'r', 50, 40),
      { ...span('noend', 'r', 60, 0), end_unix_nano: '' as unknown as number, duration_ms: 5 },
    ]);
    const inv = m.nodes[m.byId.get('inv')!];
    expect(inv.end).toBe(inv.start);
    expect(m.nodes[m.byId.get('noend')!].duration).toBeCloseTo(5, 3);
  });

  it('reads nanosecond times given as strings or numbers', () => {
    expect(nanosToMs('1795350612759697302')).toBeCloseTo(1795350612759.6973, 2);
    expect(nanosToMs(1795350612759697302)).toBeCloseTo(1795350612759.6973, 2);
    expect(Number.isNaN(nanosToMs(undefined))).toBe(true);
  });

  it('handles an empty trace', () => {
    const m = buildTree([]);
    expect(m.order).toEqual([]);
    expect(m.mainRoot).toBe(-1);
    expect(m.duration).toBe(0);
  });

  it('builds a 10,000-deep chain without recursion', () => {
    const spans = Array.from({ length: 10_000 }, (_, i) => span(`s${i}`, i === 0 ? '' : `s${i - 1}`, i * 0.001, 100 - i * 0.001));
    const m = buildTree(spans);
    expect(m.maxDepth).toBe(9_999);
    expect(m.nodes[m.order[9_999]].depth).toBe(9_999);
  });

  it('builds 10,000 mixed spans quickly', () => {
    const spans = bigTrace(10_000);
    const t0 = performance.now();
    const m = buildTree(spans);
    const ms = performance.now() - t0;
    expect(m.order).toHaveLength(10_000);
    expect(m.services).toHaveLength(21);
    expect(ms).toBeLessThan(200);
  });
});

describe('visibleRows', () => {
  const m = buildTree([span('r', '', 0, 100), span('a', 'r', 10, 40), span('a1', 'a', 11, 20), span('a2', 'a', 21, 30), span('b', 'r', 50, 60)]);
  it('skips the descendants of collapsed spans', () => {
    expect(ids(m, visibleRows(m, () => false))).toEqual(['r', 'a', 'a1', 'a2', 'b']);
    expect(ids(m, visibleRows(m, (n) => n.id === 'a'))).toEqual(['r', 'a', 'b']);
    expect(ids(m, visibleRows(m, (n) => n.id === 'r'))).toEqual(['r']);
    // A leaf marked collapsed still shows.
    expect(ids(m, visibleRows(m, (n) => n.id === 'a1'))).toEqual(['r', 'a', 'a1', 'a2', 'b']);
  });
  it('can keep only marked spans', () => {
    const on = new Uint8Array(m.nodes.length);
    on[m.byId.get('r')!] = 1;
    on[m.byId.get('b')!] = 1;
    expect(ids(m, visibleRows(m, () => false, on))).toEqual(['r', 'b']);
  });
  it('collapses 10,000 spans in a few milliseconds', () => {
    const big = buildTree(bigTrace(10_000));
    const collapsed = new Set(big.nodes.filter((n) => n.children.length > 0).map((n) => n.id));
    const t0 = performance.now();
    const rows = visibleRows(big, (n) => collapsed.has(n.id));
    const all = visibleRows(big, () => false);
    expect(performance.now() - t0).toBeLessThan(50);
    expect(rows).toHaveLength(1);
    expect(all).toHaveLength(10_000);
  });
  it('lists ancestors nearest first', () => {
    expect(ids(m, ancestors(m, m.byId.get('a2')!))).toEqual(['a', 'r']);
    expect(ancestors(m, m.byId.get('r')!)).toEqual([]);
  });
});
