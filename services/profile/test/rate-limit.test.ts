import { createHash } from 'node:crypto'
import { describeRedis, useTestRedis } from '@tessera/testing'
import { describe, expect, it } from 'vitest'
import { createMemoryRateLimiter, createRedisRateLimiter } from '../src/rate-limit.js'

const rule = { name: 'login', max: 2, windowSeconds: 60 }

function keyFor (name: string, address: string): string {
  return `rate-limit:${name}:${createHash('sha256').update(address).digest('hex').slice(0, 32)}`
}

describe('in-process rate limiter', () => {
  it('allows max hits per window, then refuses until the window ends', async () => {
    let clock = 1_000_000
    const limiter = createMemoryRateLimiter(() => clock)

    expect(await limiter.hit(rule, 'ada@example.com')).toEqual({ allowed: true, retryAfter: 60 })
    expect(await limiter.hit(rule, ' ADA@example.com ')).toEqual({ allowed: true, retryAfter: 60 })
    clock += 30_500
    expect(await limiter.hit(rule, 'ada@example.com')).toEqual({ allowed: false, retryAfter: 30 })

    clock += 29_500
    expect(await limiter.hit(rule, 'ada@example.com')).toEqual({ allowed: true, retryAfter: 60 })
  })

  it('keeps rules and addresses apart, and forgets an address on reset', async () => {
    const limiter = createMemoryRateLimiter(() => 0)
    const other = { ...rule, name: 'register' }

    await limiter.hit(rule, 'a@example.com')
    await limiter.hit(rule, 'a@example.com')
    expect((await limiter.hit(rule, 'a@example.com')).allowed).toBe(false)
    expect((await limiter.hit(other, 'a@example.com')).allowed).toBe(true)
    expect((await limiter.hit(rule, 'b@example.com')).allowed).toBe(true)

    await limiter.reset(rule, 'A@example.com')
    expect((await limiter.hit(rule, 'a@example.com')).allowed).toBe(true)
  })

  it('sweeps ended windows on a later hit', async () => {
    let clock = 0
    const limiter = createMemoryRateLimiter(() => clock)
    await limiter.hit(rule, 'a@example.com')
    await limiter.hit(rule, 'b@example.com')

    clock += 61_000
    await limiter.hit(rule, 'c@example.com')
    expect(limiter.size()).toBe(1)
  })
})

describeRedis('Redis rate limiter', () => {
  const redis = useTestRedis()

  it('counts in one key per rule and address, expiring with the window', async () => {
    const limiter = createRedisRateLimiter(redis().client)

    expect(await limiter.hit(rule, 'Ada@Example.com')).toEqual({ allowed: true, retryAfter: 60 })
    await limiter.hit(rule, 'ada@example.com')
    const refused = await limiter.hit(rule, 'ada@example.com')

    const key = keyFor('login', 'ada@example.com')
    expect(await redis().keys()).toEqual([key])
    expect(await redis().client.get(key)).toBe('3')
    const ttl = await redis().client.pttl(key)
    expect(ttl).toBeGreaterThan(59_000)
    expect(refused).toEqual({ allowed: false, retryAfter: 60 })

    await limiter.reset(rule, 'ADA@example.com')
    expect(await redis().keys()).toEqual([])
  })

  it('gives a counter that lost its expiry a window again', async () => {
    const limiter = createRedisRateLimiter(redis().client)
    const key = keyFor('login', 'stuck@example.com')
    await redis().client.set(key, '7')

    expect(await limiter.hit(rule, 'stuck@example.com')).toEqual({ allowed: false, retryAfter: 60 })
    expect(await redis().client.pttl(key)).toBeGreaterThan(59_000)
    await redis().client.del(key)
  })
})
