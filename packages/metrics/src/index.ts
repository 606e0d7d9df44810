export { metricsPlugin, sessionCounters, SnapshotSchema } from './metrics.js'
export type { MetricsOptions } from './metrics.js'
export { UNMATCHED_ROUTE, createPrometheus } from './prometheus.js'
export { createSnapshotCounters } from './snapshot.js'
