import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { describeRedis, useTestRedis } from '@tessera/testing'
import { expect, it } from 'vitest'
import { createRedisSessionStore, hashSessionId, type SessionStore } from '../src/index.js'
import { sessionStoreContract } from './store-contract.js'

describeRedis('redis session store', () => {
  const redis = useTestRedis({ label: 'session-store' })
  let store: SessionStore | undefined
  const getStore = () => (store ??= createRedisSessionStore({ redis: redis().client, ttlSeconds: 60 }))

  sessionStoreContract(getStore)

  it('keeps session:<sha256(id)> as JSON with the TTL, and the user\'s set of hashes', async () => {
    const userId = randomUUID()
    const id = await getStore().create({ user_id: userId, is_staff: false, is_superuser: false })
    const hash = hashSessionId(id)
    const client = redis().client

    const raw = await client.get(`session:${hash}`)
    expect(JSON.parse(raw!)).toEqual({
      user_id: userId, is_staff: false, is_superuser: false, created_at: expect.any(String)
    })
    expect(await client.ttl(`session:${hash}`)).toBeGreaterThan(55)
    expect(await client.smembers(`user-sessions:${userId}`)).toEqual([hash])
    expect(await client.exists(`session:${id}`)).toBe(0)
  })

  it('removes the hash from the user\'s set when a session is destroyed', async () => {
    const userId = randomUUID()
    const id = await getStore().create({ user_id: userId, is_staff: false, is_superuser: false })
    await getStore().destroy(id)
    expect(await redis().client.exists(`user-sessions:${userId}`)).toBe(0)
  })

  it('expires a session at its TTL', async () => {
    const short = createRedisSessionStore({ redis: redis().client, ttlSeconds: 1 })
    const id = await short.create({ user_id: randomUUID(), is_staff: false, is_superuser: false })
    expect(await short.get(id)).not.toBeNull()
    await sleep(1100)
    expect(await short.get(id)).toBeNull()
  })

  it('treats a corrupted stored value as no session', async () => {
    const id = 'B'.repeat(43)
    await redis().client.set(`session:${hashSessionId(id)}`, '{not json')
    expect(await getStore().get(id)).toBeNull()
  })
})
