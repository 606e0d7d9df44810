import { parseArgs } from 'node:util'
import { startStack } from './src/stack.js'
import { runSoak, type Sample } from './src/soak.js'

// `pnpm soak [-- --duration <s>] [--concurrency <n>]`: the whole stack in this process against
// DATABASE_URL and REDIS_URL (own schema and key prefix, removed afterwards), a bounded soak
// through the gateway, then the figures; exit 1 when anything failed, was lost or leaked.
const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '300' },
    concurrency: { type: 'string', default: '8' },
    'max-heap-slope': { type: 'string', default: '1' }
  }
})
const durationMs = Number(values.duration) * 1000
const concurrency = Number(values.concurrency)
const maxSlope = Number(values['max-heap-slope'])

if (!process.env.DATABASE_URL || !process.env.REDIS_URL) {
  process.stderr.write('soak: DATABASE_URL and REDIS_URL must be set\n')
  process.exit(2)
}

const MiB = 1024 * 1024
const mib = (bytes: number) => `${(bytes / MiB).toFixed(1)} MiB`

const stack = await startStack({ label: 'soak' })
let stopping = false
process.once('SIGINT', () => {
  if (stopping) return
  stopping = true
  stack.close().finally(() => process.exit(130))
})

const everyMs = Math.max(1000, Math.min(10_000, durationMs / 30))
const printed = (sample: Sample) => {
  const { sockets, pool } = sample
  process.stdout.write(`  ${String(Math.round(sample.atMs / 1000)).padStart(4)} s  ${String(sample.requests).padStart(7)} req` +
    `  rss ${mib(sample.rss)}  heap ${mib(sample.heapAfterGc)}  pool ${pool.total}/${pool.idle}/${pool.waiting}` +
    `  sockets pg ${sockets.postgres} redis ${sockets.redis} s3 ${sockets.s3}` +
    ` profile ${sockets.profile} media ${sockets.media} gateway ${sockets.gateway}\n`)
}

process.stdout.write(`soak: ${durationMs / 1000} s at concurrency ${concurrency}\n`)
let failed = true
try {
  const report = await runSoak(stack, { durationMs, concurrency, sampleEveryMs: everyMs, onSample: printed })
  const { samples, ...figures } = report
  process.stdout.write(JSON.stringify(figures, null, 2) + '\n')

  const problems = [
    ...report.errorSamples.map((sample) => `error: ${sample}`),
    ...report.lost.map((entry) => `lost: ${entry}`),
    ...report.orphans.map((entry) => `orphan: ${entry}`)
  ]
  if (report.errors > 0) problems.push(`${report.errors} requests failed`)
  if (report.heapSlopeMiBPerMinute > maxSlope) {
    problems.push(`the heap grows by ${report.heapSlopeMiBPerMinute} MiB a minute (bound ${maxSlope})`)
  }
  const { pool, sockets } = report.settled
  if (pool.waiting > 0 || sockets.postgres !== pool.total) problems.push(`pool not settled: ${JSON.stringify(pool)}`)
  if (sockets.redis !== 3 || sockets.gateway !== 0) problems.push(`sockets not settled: ${JSON.stringify(sockets)}`)

  process.stdout.write(problems.length === 0
    ? `soak: held ${report.requests} requests (${report.requestsPerSecond}/s), nothing failed, lost or leaked\n`
    : `soak: FAILED\n${problems.map((problem) => `  ${problem}`).join('\n')}\n`)
  failed = problems.length > 0
} finally {
  if (!stopping) await stack.close()
}
process.exit(failed ? 1 : 0)
