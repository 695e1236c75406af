// Answers of Faultline's HTTP API (see DESIGN.md's HTTP contract and the README).

export type Health = 'ok' | 'degraded' | 'failing' | 'unknown';
export type NodeKind = 'service' | 'database' | 'cache' | 'external' | 'uninstrumented';

export interface TopologyNode {
  service: string;
  kind: NodeKind;
  requests: number;
  errors: number;
  error_rate: number;
  p50_ms: number;
  p99_ms: number;
  health: Health;
}

export interface TopologyEdge {
  caller: string;
  callee: string;
  requests: number;
  errors: number;
  error_rate: number;
  p50_ms: number;
  p99_ms: number;
}

export interface Topology {
  nodes: TopologyNode[];
  edges: TopologyEdge[];
}

export type RootCauseKind = 'error' | 'latency' | 'saturation' | 'down';

export interface Evidence {
  type: string;
  [key: string]: unknown;
}

export interface Anomaly {
  entity: string;
  signal: string;
  baseline: number;
  current: number;
  unit: string;
  since: string;
  until?: string;
}

export interface RootCause {
  service: string;
  score: number;
  kind: RootCauseKind;
  node_kind?: NodeKind;
  since?: string;
  evidence: Evidence[];
}

export interface Affected {
  service: string;
  impact: number;
  signals?: string[];
  since?: string;
}

export interface RCA {
  start?: string;
  end?: string;
  summary?: string;
  root_causes: RootCause[];
  affected: Affected[];
  paths: string[][];
  exemplar_traces: string[];
  anomalies?: Anomaly[];
}

export interface Incident extends Omit<RCA, 'start' | 'end'> {
  id: string;
  start: string;
  /** null while the incident is ongoing. */
  end: string | null;
  ongoing: boolean;
  last_seen: string;
  root_cause: string;
  kind: RootCauseKind;
}

export interface TraceSummary {
  trace_id: string;
  root_service: string;
  root_operation: string;
  start: string;
  duration_ms: number;
  span_count: number;
  error: boolean;
}

export interface SpanEvent {
  name: string;
  time_unix_nano?: string | number;
  attributes?: Record<string, unknown>;
}

export interface Span {
  span_id: string;
  parent_span_id: string;
  service: string;
  name: string;
  kind: string;
  start_unix_nano: string | number;
  end_unix_nano: string | number;
  duration_ms: number;
  /** code is "unset", "ok" or "error". */
  status: { code: string; message?: string };
  attributes: Record<string, unknown>;
  events: SpanEvent[];
  links?: { trace_id: string; span_id: string; attributes?: Record<string, unknown> }[];
  resource?: Record<string, unknown>;
  scope?: { name: string; version?: string };
}

export interface Trace {
  trace_id: string;
  spans: Span[];
}

export interface LogRecord {
  time: string;
  service: string;
  host: string;
  severity: string;
  severity_number?: number;
  body: string;
  trace_id?: string;
  span_id?: string;
  attributes?: Record<string, unknown>;
}

export interface PromAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  state: 'firing' | 'pending' | 'inactive';
  activeAt?: string;
  value: string;
}
