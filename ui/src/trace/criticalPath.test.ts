import { describe, expect, it } from 'vitest';
import { criticalPath, pathTime, type CPNode } from './criticalPath';
import { buildTree } from './tree';
import { bigTrace, span } from './testutil';

// Hand-built trees: n(start, end, ...children)
function tree(spec: [number, number, number[]][]): CPNode[] {
  return spec.map(([start, end, children]) => ({ start, end, children }));
}

describe('criticalPath', () => {
  it('sequential children: each child and the gaps in the parent are on the path', () => {
    // 0: root [0,100]; 1: [10,30]; 2: [40,90]
    const nodes = tree([
      [0, 100, [1, 2]],
      [10, 30, []],
      [40, 90, []],
    ]);
    const cp = criticalPath(nodes, [0]);
    expect(cp.segments[0]).toEqual([
      [0, 10],
      [30, 40],
      [90, 100],
    ]);
    expect(cp.segments[1]).toEqual([[10, 30]]);
    expect(cp.segments[2]).toEqual([[40, 90]]);
    expect([...cp.onPath]).toEqual([1, 1, 1]);
  });

  it('parallel children: only the last finishing one counts', () => {
    // 1 and 2 overlap; 2 finishes last; 1 ends after 2 starts, so it is not on the path.
    const nodes = tree([
      [0, 100, [1, 2, 3]],
      [10, 60, []],
      [20, 80, []],
      [25, 50, []],
    ]);
    const cp = criticalPath(nodes, [0]);
    expect(cp.segments[2]).toEqual([[20, 80]]);
    expect(cp.segments[1]).toBeUndefined();
    expect(cp.segments[3]).toBeUndefined();
    expect([...cp.onPath]).toEqual([1, 0, 1, 0]);
    expect(cp.segments[0]).toEqual([
      [0, 20],
      [80, 100],
    ]);
  });

  it('a child that finished before the chosen child started is next on the path', () => {
    const nodes = tree([
      [0, 100, [1, 2, 3]],
      [5, 15, []],
      [10, 30, []],
      [40, 90, []],
    ]);
    const cp = criticalPath(nodes, [0]);
    // 3 last; cursor 40: 2 ends 30 -> on path; cursor 10: 1 ends 15 > 10 -> not.
    expect([...cp.onPath]).toEqual([1, 0, 1, 1]);
    expect(cp.segments[0]).toEqual([
      [0, 10],
      [30, 40],
      [90, 100],
    ]);
  });

  it('nested: the walk descends into the child and its own last-finishing child', () => {
    const nodes = tree([
      [0, 100, [1]],
      [10, 90, [2, 3]],
      [20, 40, []],
      [50, 70, [4]],
      [55, 65, []],
    ]);
    const cp = criticalPath(nodes, [0]);
    expect(cp.segments[0]).toEqual([
      [0, 10],
      [90, 100],
    ]);
    expect(cp.segments[1]).toEqual([
      [10, 20],
      [40, 50],
      [70, 90],
    ]);
    expect(cp.segments[3]).toEqual([
      [50, 55],
      [65, 70],
    ]);
    expect(cp.segments[4]).toEqual([[55, 65]]);
    expect(cp.segments[2]).toEqual([[20, 40]]);
    // The path covers the root's whole duration exactly once.
    const total = cp.segments.reduce((t, s) => t + pathTime(s), 0);
    expect(total).toBe(100);
  });

  it('a child ending after its parent is clipped to the parent', () => {
    const nodes = tree([
      [0, 100, [1, 2]],
      [10, 50, []],
      [60, 150, [3]],
      [120, 140, []], // entirely after the parent's end: left out
    ]);
    const cp = criticalPath(nodes, [0]);
    expect(cp.segments[2]).toEqual([[60, 100]]);
    expect(cp.segments[3]).toBeUndefined();
    expect(cp.onPath[3]).toBe(0);
    expect(cp.segments[0]).toEqual([
      [0, 10],
      [50, 60],
    ]);
  });

  it('a child starting before its parent is clipped to the parent start', () => {
    const nodes = tree([
      [10, 100, [1]],
      [0, 50, []],
    ]);
    const cp = criticalPath(nodes, [0]);
    expect(cp.segments[1]).toEqual([[10, 50]]);
    expect(cp.segments[0]).toEqual([[50, 100]]);
  });

  it('a span fully covered by its child is on the path with no segment of its own', () => {
    const nodes = tree([
      [0, 100, [1]],
      [0, 100, []],
    ]);
    const cp = criticalPath(nodes, [0]);
    expect(cp.segments[0]).toBeUndefined();
    expect(cp.onPath[0]).toBe(1);
    expect(cp.segments[1]).toEqual([[0, 100]]);
  });

  it('orphan roots: the path follows the last-finishing root, then what finished before it', () => {
    const nodes = tree([
      [0, 50, []], // main root
      [60, 100, [3]], // orphan, finishes last
      [10, 70, []], // orphan overlapping the last one: not on the path
      [70, 90, []],
    ]);
    const cp = criticalPath(nodes, [0, 2, 1]);
    expect([...cp.onPath]).toEqual([1, 1, 0, 1]);
    expect(cp.segments[1]).toEqual([
      [60, 70],
      [90, 100],
    ]);
    expect(cp.segments[0]).toEqual([[0, 50]]);
  });

  it('zero-length children at the cursor do not loop', () => {
    const nodes = tree([
      [0, 10, [1, 2]],
      [10, 10, []],
      [10, 10, []],
    ]);
    const cp = criticalPath(nodes, [0]);
    expect(cp.segments[0]).toEqual([[0, 10]]);
  });

  it('works on a built trace and marks the root', () => {
    const m = buildTree([span('r', '', 0, 100), span('a', 'r', 10, 30), span('b', 'r', 20, 90), span('c', 'b', 30, 80)]);
    const cp = criticalPath(m.nodes, m.roots);
    const on = m.nodes.filter((n) => cp.onPath[n.index]).map((n) => n.id);
    expect(on).toEqual(['r', 'b', 'c']);
  });

  it('computes a 10,000-span tree in well under 100 ms', () => {
    const m = buildTree(bigTrace(10_000));
    criticalPath(m.nodes, m.roots); // warm up the JIT
    const t0 = performance.now();
    const cp = criticalPath(m.nodes, m.roots);
    const ms = performance.now() - t0;
    expect(ms).toBeLessThan(50);
    expect(cp.onPath[m.mainRoot]).toBe(1);
    // The path's own time adds up to the root's duration (one root, children clipped).
    const total = cp.segments.reduce((t, s) => t + pathTime(s), 0);
    expect(total).toBeCloseTo(m.nodes[m.mainRoot].duration, 3);
  });

  it('walks a 10,000-deep chain', () => {
    const n = 10_000;
    const nodes: CPNode[] = Array.from({ length: n }, (_, i) => ({ start: i, end: 2 * n - i, children: i + 1 < n ? [i + 1] : [] }));
    const cp = criticalPath(nodes, [0]);
    expect(cp.onPath.every((x) => x === 1)).toBe(true);
    expect(cp.segments[0]).toEqual([
      [0, 1],
      [2 * n - 1, 2 * n],
    ]);
  });
});
