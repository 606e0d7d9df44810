import { randomUUID } from 'node:crypto'
import { expect, it } from 'vitest'
import { isWellFormedId, type SessionStore } from '../src/index.js'

/** The behaviour every SessionStore implementation must have; each suite runs it against its own. */
export function sessionStoreContract (getStore: () => SessionStore): void {
  const user = () => ({ user_id: randomUUID(), is_staff: false, is_superuser: false })

  it('creates a session under a fresh 32-byte base64url id and reads it back', async () => {
    const fields = user()
    const id = await getStore().create(fields)
    expect(isWellFormedId(id)).toBe(true)
    expect(Buffer.from(id, 'base64url')).toHaveLength(32)

    const data = await getStore().get(id)
    expect(data).toEqual({ ...fields, created_at: expect.any(String) })
    expect(Date.parse(data!.created_at)).toBeGreaterThan(Date.now() - 60_000)
  })

  it('never reuses an id', async () => {
    const fields = user()
    const ids = await Promise.all(Array.from({ length: 20 }, () => getStore().create(fields)))
    expect(new Set(ids).size).toBe(20)
  })

  it('answers null for an unknown id', async () => {
    expect(await getStore().get('A'.repeat(43))).toBeNull()
  })

  it('destroys one session and leaves the user\'s others', async () => {
    const fields = user()
    const a = await getStore().create(fields)
    const b = await getStore().create(fields)

    expect(await getStore().destroy(a)).toBe(true)
    expect(await getStore().destroy(a)).toBe(false)
    expect(await getStore().get(a)).toBeNull()
    expect(await getStore().get(b)).not.toBeNull()
  })

  it('destroys all of one user\'s sessions and no one else\'s', async () => {
    const victim = user()
    const other = user()
    const mine = await Promise.all([1, 2, 3].map(() => getStore().create(victim)))
    const theirs = await getStore().create(other)

    expect(await getStore().destroyAllForUser(victim.user_id)).toBe(3)
    for (const id of mine) expect(await getStore().get(id)).toBeNull()
    expect(await getStore().get(theirs)).not.toBeNull()
    expect(await getStore().destroyAllForUser(victim.user_id)).toBe(0)
  })

  it('keeps a superuser flag as stored', async () => {
    const id = await getStore().create({ user_id: randomUUID(), is_staff: true, is_superuser: true })
    expect(await getStore().get(id)).toMatchObject({ is_staff: true, is_superuser: true })
  })
}
