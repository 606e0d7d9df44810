import { Agent, request } from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'
import { percentile, Samples } from './stats.js'

export interface Target {
  url: string
  headers: Record<string, string>
}

export interface Latencies {
  p50: number
  p99: number
  count: number
}

function get (agent: Agent, target: Target, path: string): Promise<number> {
  const startedAt = performance.now()
  return new Promise((resolve, reject) => {
    const req = request(`${target.url}${path}`, { agent, headers: target.headers }, (res) => {
      res.resume()
      res.once('end', () => {
        if (res.statusCode === 200) resolve(performance.now() - startedAt)
        else reject(new Error(`GET ${target.url}${path} answered ${res.statusCode}`))
      })
      res.once('error', reject)
    })
    req.once('error', reject)
    req.end()
  })
}

/**
 * GETs `path` from `a` and `b` in turn, request after request, from `loops` paced loops at
 * `rate` pairs per second overall, for `seconds`. Both see the same moment of the machine, so
 * a noisy neighbour weighs on their percentiles alike, which alternating runs cannot promise.
 */
export async function pairedLatency (
  a: Target,
  b: Target,
  options: { path: string, loops: number, rate: number, seconds: number }
): Promise<{ a: Latencies, b: Latencies }> {
  const agents = [new Agent({ keepAlive: true }), new Agent({ keepAlive: true })] as const
  const samples = [new Samples(), new Samples()] as const
  const interval = 1000 * options.loops / options.rate
  const deadline = performance.now() + options.seconds * 1000

  try {
    await Promise.all(Array.from({ length: options.loops }, async (_, loop) => {
      // Spread the loops over one interval, then keep each to its own beat.
      let next = performance.now() + (interval * loop) / options.loops
      while (next < deadline) {
        await sleep(Math.max(0, next - performance.now()))
        // Which side goes first alternates too: the second request meets a warmer machine.
        const order = samples[0].length % 2 === 0 ? [0, 1] as const : [1, 0] as const
        for (const side of order) {
          samples[side].push(await get(agents[side], side === 0 ? a : b, options.path))
        }
        next += interval
      }
    }))
  } finally {
    for (const agent of agents) agent.destroy()
  }

  const summary = (values: Samples): Latencies => {
    const sorted = values.sorted()
    return { p50: percentile(sorted, 50), p99: percentile(sorted, 99), count: sorted.length }
  }
  return { a: summary(samples[0]), b: summary(samples[1]) }
}
