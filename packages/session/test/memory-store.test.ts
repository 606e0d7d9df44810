import { randomUUID } from 'node:crypto'
import { afterAll, describe, expect, it } from 'vitest'
import { createMemorySessionStore } from '../src/index.js'
import { sessionStoreContract } from './store-contract.js'

describe('memory session store', () => {
  const store = createMemorySessionStore({ ttlSeconds: 60 })
  afterAll(async () => { await store.close?.() })

  sessionStoreContract(() => store)

  it('expires a session at its TTL', async () => {
    let clock = 1_000_000
    const timed = createMemorySessionStore({ ttlSeconds: 10, now: () => clock })
    const id = await timed.create({ user_id: randomUUID(), is_staff: false, is_superuser: false })

    clock += 9_999
    expect(await timed.get(id)).not.toBeNull()
    clock += 1
    expect(await timed.get(id)).toBeNull()
    await timed.close?.()
  })
})
