import { availableParallelism } from 'node:os'
import { createAccounts, logIn } from '../accounts.js'
import type { Benchmark } from '../context.js'
import { figure } from '../figures.js'
import { pairedLatency, type Latencies } from '../latency.js'
import { runLoad, type LoadResult } from '../load.js'
import {
  cpuBound, describeBound, describeCpu, describePer, pooledPer, type CpuUse
} from '../proc-stats.js'
import { alternate, metered } from '../rounds.js'
import { median, round, spread } from '../stats.js'

const CONNECTIONS = 16
const SECONDS = 3
const ROUNDS = 5
const WARMUP_SECONDS = 2
/** The latency phase runs at this share of the gateway's throughput: busy, far from saturated. */
const LATENCY_SHARE = 0.2
const LATENCY_LOOPS = 8
const LATENCY_ROUNDS = 3
const LATENCY_SECONDS = 4

type Run = LoadResult & { cpu: CpuUse }

/** Issue figure 1: an authenticated GET through the gateway vs straight to profile. */
export const gatewayOverhead: Benchmark = {
  name: 'gateway',
  summary: 'GET /users/current-user/ through the gateway vs straight to profile',

  async run ({ system, log, shared }) {
    const sys = await system()
    const [account] = await createAccounts(sys.database.url, 1, sys.argon2)
    const { cookie } = await logIn(sys.profile.url, account!)
    const pids = sys.processes('gateway', 'profile')
    const load = (url: string, seconds: number, connections = CONNECTIONS, rate?: number) =>
      metered(pids, () => runLoad({
        url,
        path: '/users/current-user/',
        headers: { cookie },
        connections,
        durationSeconds: seconds,
        rate
      }), sys.database.name)

    log('gateway: warming up')
    await load(sys.profile.url, WARMUP_SECONDS)
    await load(sys.gateway.url, WARMUP_SECONDS)

    log(`gateway: throughput, ${ROUNDS} rounds of ${SECONDS} s each way`)
    const throughput = await alternate<Run>(ROUNDS, {
      direct: () => load(sys.profile.url, SECONDS),
      gateway: () => load(sys.gateway.url, SECONDS)
    })
    const ratios = throughput.gateway!.map((run, i) => run.rps / throughput.direct![i]!.rps)
    const directRps = median(throughput.direct!.map((run) => run.rps))
    const gatewayRps = median(throughput.gateway!.map((run) => run.rps))

    const rate = Math.max(50, Math.round(LATENCY_SHARE * gatewayRps))
    log(`gateway: latency, ${rate} request pairs/s, ${LATENCY_ROUNDS} rounds of ${LATENCY_SECONDS} s`)
    const paired: Array<{ a: Latencies, b: Latencies }> = []
    for (let i = 0; i < LATENCY_ROUNDS; i++) {
      paired.push(await pairedLatency(
        { url: sys.profile.url, headers: { cookie } },
        { url: sys.gateway.url, headers: { cookie } },
        { path: '/users/current-user/', loops: LATENCY_LOOPS, rate, seconds: LATENCY_SECONDS }
      ))
    }
    const addedP99 = paired.map((pair) => pair.b.p99 - pair.a.p99)
    const addedP50 = paired.map((pair) => pair.b.p50 - pair.a.p50)

    log(`gateway: one connection, ${LATENCY_SECONDS} s each way`)
    const singleDirect = await load(sys.profile.url, LATENCY_SECONDS, 1)
    const singleGateway = await load(sys.gateway.url, LATENCY_SECONDS, 1)

    const { use: useDirect, per: perDirect } = pooledPer(throughput.direct!)
    const { use: useGateway, per: perGateway } = pooledPer(throughput.gateway!)
    const profileUs = perDirect.processes.profile ?? perDirect.processes.stack!
    shared.set('profile.current-user.cpu-us', profileUs)

    const ratio = median(ratios)
    const ms = (value: number) => `${round(value)} ms`
    const us = (value: number | undefined) => `${Math.round(value ?? 0)} µs`
    const [first] = paired
    const notes = [
      `${CONNECTIONS} connections, ${ROUNDS} alternating rounds of ${SECONDS} s; the figure is the ` +
        `median round's ratio (rounds: ${spread(ratios)}). direct ${round(directRps)} req/s, ` +
        `gateway ${round(gatewayRps)} req/s.`,
      `Latency: ${LATENCY_LOOPS} loops, each sending a request straight to profile and the same ` +
        `through the gateway in turn, ${rate} pairs/s in all (${LATENCY_SHARE * 100} % of the ` +
        `gateway's throughput): p50 direct ${ms(first!.a.p50)}, gateway ${ms(first!.b.p50)} ` +
        `(added ${spread(addedP50)} ms over the rounds); p99 direct ${ms(first!.a.p99)}, gateway ` +
        `${ms(first!.b.p99)} (added ${spread(addedP99)} ms); the figure is the median round.`,
      `One connection, one request at a time: p50 ${ms(singleDirect.p50)} direct vs ` +
        `${ms(singleGateway.p50)}, p99 ${ms(singleDirect.p99)} vs ${ms(singleGateway.p99)}.`,
      `CPU over the throughput rounds, direct: ${describeCpu(useDirect)}; through the gateway: ` +
        `${describeCpu(useGateway)}.`,
      `CPU per request, direct: ${describePer(perDirect)}; through the gateway: ` +
        `${describePer(perGateway)}.`
    ]
    if (ratio < 0.75) {
      const cores = availableParallelism()
      const boundDirect = cpuBound(perDirect, cores)
      const boundGateway = cpuBound(perGateway, cores)
      // What the gateway path may cost for 0.75, if the same resource still limits it.
      const others = perGateway.run - (perGateway.processes.gateway ?? 0)
      const budget = boundGateway.limiter === 'machine'
        ? cores * 1e6 / (0.75 * boundDirect.rate) - others
        : 1e6 / (0.75 * boundDirect.rate)
      const needs = boundGateway.limiter === 'machine' || boundGateway.limiter === 'gateway'
        ? `; 0.75 here needs it under about ${us(Math.max(0, budget))}`
        : ''
      notes.push(`Limit: CPU. Direct, the ceiling is ${describeBound(boundDirect, cores)}; through ` +
        `the gateway, at ${us(perGateway.run)} of CPU per request in all, it is ` +
        `${describeBound(boundGateway, cores)}: together they cap the ratio near ` +
        `${round(boundGateway.rate / boundDirect.rate, 2)} on this machine. The gateway's own share ` +
        `is ${us(perGateway.processes.gateway)} per request (profile's ` +
        `${us(perGateway.processes.profile)})${needs} (\`pnpm bench gateway --cpu-prof\` shows ` +
        'where it goes).')
    }
    if (median(addedP99) >= 2) {
      notes.push(`Limit (latency): the hop itself adds ${ms(median(addedP50))} at the median; its ` +
        'tail is one more process to schedule on cores already shared with profile, Postgres, ' +
        'Redis, the load generator and the work outside the run, so every stall of a busy core ' +
        'shows twice.')
    }

    return {
      figures: [
        figure('gateway: throughput gateway/direct', ratio, 'ratio', { op: '>=', value: 0.75 }),
        figure('gateway: p99 added latency', median(addedP99), 'ms', { op: '<', value: 2 }),
        figure('gateway: direct throughput (ceiling)', directRps, 'req/s')
      ],
      notes
    }
  }
}
