// A node's or an edge's RED figures as a definition list: the graph's tooltips and the service
// panel show the same four lines.
import type { ReactNode } from 'react';
import { formatValue } from '../lib/format';
import { formatDuration } from '../lib/time';
import { formatRate } from './model';

type Props = { rateLabel: string; rps: number; errorRate: number; p50: number; p99: number; className?: string; children?: ReactNode };

/** RedStats lists rate, error rate and p50/p99, after any lines of its own (children). */
export function RedStats({ rateLabel, rps, errorRate, p50, p99, className, children }: Props) {
  return (
    <dl className={className}>
      {children}
      <dt>{rateLabel}</dt>
      <dd>{formatRate(rps)}</dd>
      <dt>error rate</dt>
      <dd>{formatValue(errorRate, 'ratio')}</dd>
      <dt>p50 / p99</dt>
      <dd>
        {formatDuration(p50)} / {formatDuration(p99)}
      </dd>
    </dl>
  );
}
