import { createHmac } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { describeRedis, useTestRedis } from '@tessera/testing'
import { describe, expect, it } from 'vitest'
import {
  createMemoryTokenStore, createRedisTokenStore, createTokens, type TokenStore
} from '../../src/domain/tokens.js'

const ALICE = '3f1c2a9e-8b7d-4e6f-9a0b-1c2d3e4f5a6b'
const BOB = '9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b'

function wrong (code: string): string {
  return String((Number(code) + 1) % 1_000_000).padStart(6, '0')
}

/** The behaviour both stores must show, run against each. */
function tokenContract (makeStore: () => TokenStore) {
  it('issues six digits that verify once', async () => {
    const tokens = createTokens({ store: makeStore() })
    const code = await tokens.issue('activation', ALICE)

    expect(code).toMatch(/^\d{6}$/)
    expect(await tokens.verify('activation', ALICE, code)).toBe(true)
    expect(await tokens.verify('activation', ALICE, code)).toBe(false)
  })

  it('ignores spaces in the submitted code', async () => {
    const tokens = createTokens({ store: makeStore() })
    const code = await tokens.issue('reset', ALICE)
    const spaced = ` ${code.slice(0, 3)} ${code.slice(3)}\t`

    expect(await tokens.verify('reset', ALICE, spaced)).toBe(true)
  })

  it('replaces the earlier code with a new one', async () => {
    const tokens = createTokens({ store: makeStore() })
    const first = await tokens.issue('activation', ALICE)
    let second = await tokens.issue('activation', ALICE)
    while (second === first) second = await tokens.issue('activation', ALICE)

    expect(await tokens.verify('activation', ALICE, first)).toBe(false)
    expect(await tokens.verify('activation', ALICE, second)).toBe(true)
  })

  it('keeps purposes and users apart', async () => {
    const tokens = createTokens({ store: makeStore() })
    const code = await tokens.issue('activation', ALICE)

    expect(await tokens.verify('reset', ALICE, code)).toBe(false)
    expect(await tokens.verify('activation', BOB, code)).toBe(false)
    expect(await tokens.verify('activation', ALICE.toUpperCase(), code)).toBe(true)
  })

  it('still accepts the right code on the fifth try', async () => {
    const tokens = createTokens({ store: makeStore() })
    const code = await tokens.issue('activation', ALICE)

    for (let i = 0; i < 4; i++) expect(await tokens.verify('activation', ALICE, wrong(code))).toBe(false)
    expect(await tokens.verify('activation', ALICE, code)).toBe(true)
  })

  it('voids the code after five wrong tries', async () => {
    const tokens = createTokens({ store: makeStore() })
    const code = await tokens.issue('activation', ALICE)

    for (let i = 0; i < 5; i++) expect(await tokens.verify('activation', ALICE, wrong(code))).toBe(false)
    expect(await tokens.verify('activation', ALICE, code)).toBe(false)
  })

  it('gives concurrent guesses no more than five comparisons between them', async () => {
    const tokens = createTokens({ store: makeStore() })
    const code = await tokens.issue('reset', BOB)

    const guesses = Array.from({ length: 20 }, () => tokens.verify('reset', BOB, wrong(code)))
    expect(await Promise.all(guesses)).toEqual(Array(20).fill(false))
    expect(await tokens.verify('reset', BOB, code)).toBe(false)
  })

  it('lets exactly one of several concurrent right answers through', async () => {
    const tokens = createTokens({ store: makeStore() })
    const code = await tokens.issue('activation', BOB)

    const attempts = Array.from({ length: 4 }, () => tokens.verify('activation', BOB, code))
    const results = await Promise.all(attempts)
    expect(results.filter(Boolean)).toHaveLength(1)
  })

  it('charges no try for input that is not six digits, and never throws on its length', async () => {
    const tokens = createTokens({ store: makeStore() })
    const code = await tokens.issue('activation', ALICE)

    const junk = ['', '12345', '1234567', 'abcdef', '１２３４５６', `${code}0`, code.slice(1), 'x'.repeat(10_000)]
    for (const submitted of junk) {
      expect(await tokens.verify('activation', ALICE, submitted)).toBe(false)
    }
    expect(await tokens.verify('activation', ALICE, code)).toBe(true)
  })

  it('expires codes after their TTL, reset codes living twice as long', async () => {
    const tokens = createTokens({ store: makeStore(), ttlSeconds: 0.5 })
    const activation = await tokens.issue('activation', ALICE)
    const reset = await tokens.issue('reset', ALICE)

    expect([tokens.lifetime('activation'), tokens.lifetime('reset')]).toEqual([0.5, 1])
    await sleep(700)
    expect(await tokens.verify('activation', ALICE, activation)).toBe(false)

    const later = await tokens.issue('reset', BOB)
    expect(await tokens.verify('reset', ALICE, reset)).toBe(true)
    await sleep(1200)
    expect(await tokens.verify('reset', BOB, later)).toBe(false)
  })

  it('voids a code on revoke', async () => {
    const tokens = createTokens({ store: makeStore() })
    const code = await tokens.issue('reset', ALICE)

    await tokens.revoke('reset', ALICE)
    await tokens.revoke('reset', BOB)
    expect(await tokens.verify('reset', ALICE, code)).toBe(false)
  })

  it('does not accept a code issued under another secret', async () => {
    const store = makeStore()
    const issuer = createTokens({ store, secret: 'one secret' })
    const checker = createTokens({ store, secret: 'another secret' })
    const code = await issuer.issue('activation', ALICE)

    expect(await checker.verify('activation', ALICE, code)).toBe(false)
  })
}

describe('in-process token store', () => {
  tokenContract(() => createMemoryTokenStore())

  it('forgets expired codes on a later put, without a timer', async () => {
    let clock = 1_000_000
    const store = createMemoryTokenStore({ now: () => clock })
    const tokens = createTokens({ store, ttlSeconds: 10 })

    await tokens.issue('activation', ALICE)
    await tokens.issue('activation', BOB)
    clock += 61_000
    await tokens.issue('reset', ALICE)

    expect(store.size()).toBe(1)
  })
})

describeRedis('Redis token store', () => {
  const redis = useTestRedis()

  let stores = 0
  // A prefix per store: no test sees another's codes
  tokenContract(() => createRedisTokenStore(redis().client, { prefix: `token${++stores}:` }))

  it('stores a keyed digest, never the code, under the prefix with the TTL', async () => {
    const tokens = createTokens({
      store: createRedisTokenStore(redis().client, { prefix: 'codes:' }), ttlSeconds: 900, secret: 'k'
    })
    const code = await tokens.issue('reset', ALICE)
    const key = `codes:reset:${ALICE}`

    const stored = await redis().client.hgetall(key)
    const digest = createHmac('sha256', 'k').update(`reset:${ALICE}:${code}`).digest('hex')
    expect(stored).toEqual({ digest, tries: '0' })
    const ttl = await redis().client.pttl(key)
    expect(ttl).toBeGreaterThan(1_790_000)
    expect(ttl).toBeLessThanOrEqual(1_800_000)

    await tokens.verify('reset', ALICE, wrong(code))
    expect(await redis().client.hget(key, 'tries')).toBe('1')
    expect(await redis().client.pttl(key)).toBeGreaterThan(1_790_000)

    expect(await tokens.verify('reset', ALICE, code)).toBe(true)
    expect(await redis().client.exists(key)).toBe(0)
  })

  it('leaves no key behind for a code nobody issued', async () => {
    const tokens = createTokens({ store: createRedisTokenStore(redis().client, { prefix: 'ghost:' }) })

    expect(await tokens.verify('activation', BOB, '123456')).toBe(false)
    expect((await redis().keys()).filter((key) => key.startsWith('ghost:'))).toEqual([])
  })
})
