import { fileURLToPath } from 'node:url'
import { getFreePort } from '@tessera/testing'
import type { BenchContext, Benchmark } from '../context.js'
import { figure } from '../figures.js'
import { runLoad, type LoadResult } from '../load.js'
import { cpuPer, describeCpu, sumCpu, type CpuUse } from '../proc-stats.js'
import { startChild, waitUntilReady, type Child } from '../processes.js'
import { alternate, metered } from '../rounds.js'
import { median, round, spread } from '../stats.js'

const CONNECTIONS = 16
const SECONDS = 3
const ROUNDS = 5
const WARMUP_SECONDS = 2

const benchDir = fileURLToPath(new URL('../..', import.meta.url))

type Run = LoadResult & { cpu: CpuUse }

async function startApp ({ workDir, nodeFlags, started }: BenchContext, metrics: 'on' | 'off') {
  const port = await getFreePort()
  const child = startChild({
    name: `metrics-${metrics}`,
    cwd: benchDir,
    entry: 'fixtures/metrics-app.ts',
    env: {
      METRICS: metrics,
      PORT: String(port),
      METRICS_PORT: String(await getFreePort()),
      LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'info'
    },
    logDir: workDir,
    nodeFlags
  })
  started(child.name, child.pid)
  try {
    await waitUntilReady(child, `http://127.0.0.1:${port}/livez`)
  } catch (err) {
    await child.stop()
    throw err
  }
  return { child, url: `http://127.0.0.1:${port}` }
}

/** Issue figure 5: one route's throughput with and without the metrics plugin. */
export const metricsCost: Benchmark = {
  name: 'metrics',
  summary: 'a route with vs without @tessera/metrics, each in its own process',

  async run (context) {
    const { log, shared } = context
    const children: Child[] = []
    try {
      const off = await startApp(context, 'off')
      children.push(off.child)
      const on = await startApp(context, 'on')
      children.push(on.child)

      const load = (app: { child: Child, url: string }, seconds: number) =>
        metered({ [app.child.name]: app.child.pid }, () => runLoad({
          url: app.url, path: '/bench/item/', connections: CONNECTIONS, durationSeconds: seconds
        }))

      log('metrics: warming up')
      await load(off, WARMUP_SECONDS)
      await load(on, WARMUP_SECONDS)

      log(`metrics: ${ROUNDS} rounds of ${SECONDS} s each way`)
      const runs = await alternate<Run>(ROUNDS, {
        off: () => load(off, SECONDS),
        on: () => load(on, SECONDS)
      })
      const ratios = runs.on!.map((run, i) => run.rps / runs.off![i]!.rps)
      const ratio = median(ratios)
      const offRps = median(runs.off!.map((run) => run.rps))
      const onRps = median(runs.on!.map((run) => run.rps))

      const perOff = runs.off!.map((run) => cpuPer(run.cpu, run.responses))
      const perOn = runs.on!.map((run) => cpuPer(run.cpu, run.responses))
      const appOff = median(perOff.map((per) => per.processes['metrics-off']!))
      const appOn = median(perOn.map((per) => per.processes['metrics-on']!))
      const addedUs = appOn - appOff
      const us = (value: number) => `${round(value)} µs`
      const notes = [
        'A JSON route with a response schema, behind the services\' own plugins (conventions, ' +
          `lifecycle, sessions), ${CONNECTIONS} connections, ${ROUNDS} alternating rounds of ` +
          `${SECONDS} s; median round's ratio (rounds: ${spread(ratios)}). Without ` +
          `${round(offRps)} req/s, with ${round(onRps)} req/s.`,
        `CPU per request of the app process (median of the rounds): ${us(appOff)} without the ` +
          `plugin, ${us(appOn)} with it: it adds ${us(addedUs)}, a ratio of ` +
          `${round(appOff / appOn)} whatever else the machine runs.`,
        `CPU over the rounds, without: ${describeCpu(sumCpu(runs.off!.map((run) => run.cpu)))}; ` +
          `with: ${describeCpu(sumCpu(runs.on!.map((run) => run.cpu)))}.`
      ]

      const profileUs = shared.get('profile.current-user.cpu-us')
      if (profileUs !== undefined && addedUs > 0) {
        notes.push(`On a real route, profile's GET /users/current-user/ at ${us(profileUs)} of CPU ` +
          `per request (measured by the gateway benchmark, plugin included), the same ${us(addedUs)} ` +
          `is a ratio of about ${round(1 - addedUs / profileUs, 3)}.`)
      }
      if (ratio < 0.95) {
        notes.push('Limit: the plugin\'s own per-request work (fastify-metrics\' request timer and ' +
          'histogram observation by method, route and status, the snapshot counters\' two hooks) ' +
          'is the µs above; on a route this cheap it is a measurable share (`pnpm bench metrics ' +
          '--cpu-prof` shows where it goes).')
      }

      return {
        figures: [
          figure('metrics: throughput with/without plugin', ratio, 'ratio', { op: '>=', value: 0.95 }),
          figure('metrics: route without plugin (ceiling)', offRps, 'req/s')
        ],
        notes
      }
    } finally {
      for (const child of children) await child.stop()
    }
  }
}
