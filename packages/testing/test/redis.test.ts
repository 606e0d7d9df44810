import { Redis } from 'ioredis'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { createTestRedis, describeRedis, redisUrl, testRunId, useTestRedis, type TestRedis } from '../src/index.js'

describeRedis('createTestRedis', () => {
  let raw: Redis

  beforeAll(() => {
    raw = new Redis(redisUrl()!)
  })

  afterAll(async () => {
    await raw.quit()
  })

  async function rawKeys (prefix: string): Promise<string[]> {
    const found: string[] = []
    let cursor = '0'
    do {
      const [next, batch] = await raw.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000)
      found.push(...batch)
      cursor = next
    } while (cursor !== '0')
    return found.sort()
  }

  it('gives each call its own prefix, named after the run and this file', async () => {
    const redis = await createTestRedis()

    try {
      expect(redis.prefix).toMatch(new RegExp(`^t:${testRunId()}_redis_[0-9a-f]{8}:$`))
      expect(redis.url).toBe(redisUrl())
      expect(await redis.keys()).toEqual([])
    } finally {
      await redis.cleanup()
    }
  })

  it('isolates two prefixes and stores keys under the prefix', async () => {
    const a = await createTestRedis({ label: 'a' })
    const b = await createTestRedis({ label: 'b' })

    try {
      await a.client.set('shared', 'from a')
      await b.client.set('shared', 'from b')
      await a.client.sadd('only-a', 'x')

      expect(await a.client.get('shared')).toBe('from a')
      expect(await b.client.get('shared')).toBe('from b')
      expect(await b.client.exists('only-a')).toBe(0)
      expect(await a.keys()).toEqual(['only-a', 'shared'])
      expect(await b.keys()).toEqual(['shared'])
      expect(await raw.get(`${a.prefix}shared`)).toBe('from a')
    } finally {
      await a.cleanup()
      await b.cleanup()
    }
  })

  it('cleanup() deletes every key under the prefix, past one SCAN page, and nothing else', async () => {
    const redis = await createTestRedis({ label: 'many' })
    const bystander = `t:${testRunId()}_bystander_${Date.now()}`
    await raw.set(bystander, 'stays', 'EX', 60)

    const pipeline = redis.client.pipeline()
    for (let i = 0; i < 1234; i++) pipeline.set(`k:${i}`, String(i))
    await pipeline.exec()
    expect((await redis.keys()).length).toBe(1234)

    await redis.cleanup()
    await redis.cleanup()

    expect(await rawKeys(redis.prefix)).toEqual([])
    expect(await raw.get(bystander)).toBe('stays')
    expect(redis.client.status).toBe('end')
    await raw.del(bystander)
  })

  it('treats glob characters in keys literally', async () => {
    const redis = await createTestRedis({ label: 'glob' })

    try {
      await redis.client.set('a*[b]?', '1')
      expect(await redis.keys()).toEqual(['a*[b]?'])
    } finally {
      await redis.cleanup()
    }
    expect(await rawKeys(redis.prefix)).toEqual([])
  })
})

describeRedis('useTestRedis', () => {
  let seen: TestRedis | undefined

  afterAll(async () => {
    const raw = new Redis(redisUrl()!)
    try {
      expect(seen?.client.status).toBe('end')
      expect(await raw.keys(`${seen!.prefix}*`)).toEqual([])
    } finally {
      await raw.quit()
    }
  })

  const redis = useTestRedis({ label: 'hooked' })

  it('creates a connected prefix before the tests and removes its keys after', async () => {
    seen = redis()
    await seen.client.set('left-behind', '1')
    expect(await seen.keys()).toEqual(['left-behind'])
  })
})
