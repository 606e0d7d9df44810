import { createHash, randomBytes } from 'node:crypto'

/** What a session holds, as stored (the wire names of DESIGN.md section 3). */
export interface SessionData {
  user_id: string
  is_staff: boolean
  is_superuser: boolean
  created_at: string
}

export interface SessionStore {
  /** Stores `data` under a fresh id and returns the id (the cookie value). */
  create(data: Omit<SessionData, 'created_at'>): Promise<string>
  get(id: string): Promise<SessionData | null>
  destroy(id: string): Promise<boolean>
  /** Removes every session of the user; resolves to how many there were. */
  destroyAllForUser(userId: string): Promise<number>
  close?(): Promise<void>
}

/** 32 random bytes as base64url: 43 characters, no padding. */
export function newSessionId (): string {
  return randomBytes(32).toString('base64url')
}

const idPattern = /^[A-Za-z0-9_-]{43}$/

export function isWellFormedId (id: unknown): id is string {
  return typeof id === 'string' && idPattern.test(id)
}

/** Stores key sessions by the id's hash, so a leaked store dump holds no usable cookie. */
export function hashSessionId (id: string): string {
  return createHash('sha256').update(id).digest('hex')
}

interface MemoryEntry { data: SessionData, expiresAt: number }

/**
 * In-process store for the embedded stack and for tests without Redis. Same semantics as the Redis
 * store; not shared between processes, so never for replicas.
 */
export interface MemorySessionStoreOptions {
  ttlSeconds: number
  now?: () => number
}

export function createMemorySessionStore ({ ttlSeconds, now = Date.now }: MemorySessionStoreOptions): SessionStore {
  const sessions = new Map<string, MemoryEntry>()
  const byUser = new Map<string, Set<string>>()

  const drop = (hash: string): boolean => {
    const entry = sessions.get(hash)
    if (entry === undefined) return false
    sessions.delete(hash)
    byUser.get(entry.data.user_id)?.delete(hash)
    return entry.expiresAt > now()
  }

  const sweep = setInterval(() => {
    for (const [hash, entry] of sessions) if (entry.expiresAt <= now()) drop(hash)
  }, 60_000)
  sweep.unref()

  return {
    async create (fields) {
      const id = newSessionId()
      const hash = hashSessionId(id)
      const data = { ...fields, created_at: new Date(now()).toISOString() }
      sessions.set(hash, { data, expiresAt: now() + ttlSeconds * 1000 })
      let set = byUser.get(fields.user_id)
      if (set === undefined) byUser.set(fields.user_id, (set = new Set()))
      set.add(hash)
      return id
    },

    async get (id) {
      const hash = hashSessionId(id)
      const entry = sessions.get(hash)
      if (entry === undefined) return null
      if (entry.expiresAt <= now()) {
        drop(hash)
        return null
      }
      return { ...entry.data }
    },

    async destroy (id) {
      return drop(hashSessionId(id))
    },

    async destroyAllForUser (userId) {
      const hashes = [...(byUser.get(userId) ?? [])]
      let live = 0
      for (const hash of hashes) if (drop(hash)) live++
      byUser.delete(userId)
      return live
    },

    async close () {
      clearInterval(sweep)
    }
  }
}
