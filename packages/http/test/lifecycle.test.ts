import { setTimeout as sleep } from 'node:timers/promises'
import Fastify from 'fastify'
import { describe, expect, it } from 'vitest'
import { createTaskTracker, healthRoutes, httpConventions, serverOptions, taskLifecycle } from '../src/index.js'

describe('task tracker', () => {
  it('drains tasks that finish within the bound', async () => {
    const tasks = createTaskTracker()
    const done: number[] = []
    tasks.track(sleep(20).then(() => done.push(1)))
    tasks.track(sleep(40).then(() => done.push(2)))
    expect(tasks.pending).toBe(2)
    expect(await tasks.drain(1000)).toBe(true)
    expect(done).toEqual([1, 2])
    expect(tasks.pending).toBe(0)
  })

  it('gives up at the bound and reports it', async () => {
    const tasks = createTaskTracker()
    tasks.track(sleep(500))
    const started = Date.now()
    expect(await tasks.drain(30)).toBe(false)
    expect(Date.now() - started).toBeLessThan(400)
    expect(tasks.pending).toBe(1)
  })

  it('counts a failed task as finished and passes its rejection to the caller', async () => {
    const tasks = createTaskTracker()
    await expect(tasks.track(Promise.reject(new Error('smtp down')))).rejects.toThrow('smtp down')
    expect(await tasks.drain(100)).toBe(true)
  })
})

describe('app lifecycle', () => {
  it('waits for tracked tasks on close', async () => {
    const app = Fastify({ logger: false })
    await app.register(taskLifecycle, { drainMs: 1000 })
    await app.ready()
    let finished = false
    app.tasks.track(sleep(50).then(() => { finished = true }))
    await app.close()
    expect(finished).toBe(true)
  })

  it('answers /livez and a /readyz that names each dependency', async () => {
    let redisUp = true
    const app = Fastify(serverOptions({ level: 'silent', service: 't', logger: false }))
    await app.register(httpConventions)
    await app.register(healthRoutes, {
      timeoutMs: 50,
      checks: {
        postgres: async () => {},
        redis: async () => { if (!redisUp) throw new Error('ECONNREFUSED') },
        s3: async () => { if (!redisUp) await sleep(1000) }
      }
    })
    await app.ready()

    expect((await app.inject('/livez')).json()).toEqual({ status: 'ok' })
    const ready = await app.inject('/readyz')
    expect(ready.statusCode).toBe(200)
    expect(ready.json()).toEqual({ status: 'ready', checks: { postgres: 'ok', redis: 'ok', s3: 'ok' } })

    redisUp = false
    const down = await app.inject('/readyz')
    expect(down.statusCode).toBe(503)
    expect(down.json()).toEqual({ status: 'unavailable', checks: { postgres: 'ok', redis: 'unavailable', s3: 'unavailable' } })
    await app.close()
  })
})
