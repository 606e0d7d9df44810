import { describeRedis } from '@tessera/testing'
import { expect, it } from 'vitest'
import { runSoak } from '../src/soak.js'
import { useStack } from './helpers.js'

const MiB = 1024 * 1024

describeRedis('soak (short)', () => {
  const stack = useStack({ label: 'soak' })

  it('holds mixed load at steady concurrency: no error, nothing lost, no orphan, no leaked socket or connection', async () => {
    const report = await runSoak(stack(), { durationMs: 10_000, concurrency: 6 })
    const { samples, ...figures } = report
    console.log(`[reliability] soak: ${JSON.stringify(figures)}`)

    expect({ errors: report.errors, samples: report.errorSamples, lost: report.lost, orphans: report.orphans })
      .toEqual({ errors: 0, samples: [], lost: [], orphans: [] })
    expect(Object.keys(report.byOperation).sort())
      .toEqual(['current-user', 'delete', 'patch', 'patch-thumbnail', 'upload'])

    // Settled: the pool holds idle connections only, one Redis client per app, no client left.
    const { pool, sockets } = report.settled
    expect(pool.waiting).toBe(0)
    expect(pool.total).toBeLessThanOrEqual(10)
    expect(sockets).toMatchObject({ postgres: pool.total, redis: 3, gateway: 0 })
    // Kept-alive connections from the gateway to each service, at most one per worker and the
    // gateway's own readiness client.
    expect(sockets.profile).toBeLessThanOrEqual(report.concurrency + 1)
    expect(sockets.media).toBeLessThanOrEqual(report.concurrency + 1)

    // A leak of anything per request (a buffer of each upload, a listener, a session) shows
    // as tens of MiB over hundreds of requests; collection noise stays well under this.
    expect(report.heapAfterGc.end - report.heapAfterGc.start).toBeLessThan(32 * MiB)
  })
})
