import type { Redis } from 'ioredis'
import { hashSessionId, newSessionId, type SessionData, type SessionStore } from './store.js'

export interface RedisSessionStoreOptions {
  redis: Redis
  ttlSeconds: number
}

const sessionKey = (hash: string): string => `session:${hash}`
const userKey = (userId: string): string => `user-sessions:${userId}`

/*
 * Removes one session and its entry in the user's set, atomically. KEYS[1] session key; ARGV[1] hash.
 * Key names are built inside the script from the stored user id; ioredis' keyPrefix is passed as ARGV[2]
 * so the set key carries it too.
 */
const destroyScript = `
local raw = redis.call('GET', KEYS[1])
if not raw then return 0 end
redis.call('DEL', KEYS[1])
local ok, data = pcall(cjson.decode, raw)
if ok and type(data) == 'table' and data.user_id then
  redis.call('SREM', ARGV[2] .. 'user-sessions:' .. data.user_id, ARGV[1])
end
return 1
`

/* Removes every session of a user. KEYS[1] the user's set; ARGV[1] key prefix. Returns live sessions removed. */
const destroyAllScript = `
local hashes = redis.call('SMEMBERS', KEYS[1])
local live = 0
for _, hash in ipairs(hashes) do
  live = live + redis.call('DEL', ARGV[1] .. 'session:' .. hash)
end
redis.call('DEL', KEYS[1])
return live
`

/** Sessions in Redis: `session:<sha256(id)>` with a TTL, and the set `user-sessions:<user_id>`. */
export function createRedisSessionStore ({ redis, ttlSeconds }: RedisSessionStoreOptions): SessionStore {
  const prefix = redis.options.keyPrefix ?? ''

  return {
    async create (fields) {
      const id = newSessionId()
      const hash = hashSessionId(id)
      const data: SessionData = { ...fields, created_at: new Date().toISOString() }
      // The set lives as long as the newest session; dead members are harmless and swept on destroy-all.
      await redis.multi()
        .set(sessionKey(hash), JSON.stringify(data), 'EX', ttlSeconds)
        .sadd(userKey(fields.user_id), hash)
        .expire(userKey(fields.user_id), ttlSeconds)
        .exec()
        .then(failOnReplyError)
      return id
    },

    async get (id) {
      const raw = await redis.get(sessionKey(hashSessionId(id)))
      if (raw === null) return null
      return parseSession(raw)
    },

    async destroy (id) {
      const hash = hashSessionId(id)
      return await redis.eval(destroyScript, 1, sessionKey(hash), hash, prefix) === 1
    },

    async destroyAllForUser (userId) {
      return Number(await redis.eval(destroyAllScript, 1, userKey(userId), prefix))
    }
  }
}

function failOnReplyError (replies: Array<[Error | null, unknown]> | null): void {
  if (replies === null) throw new Error('session transaction was discarded')
  for (const [err] of replies) if (err !== null) throw err
}

function parseSession (raw: string): SessionData | null {
  try {
    const data = JSON.parse(raw) as Partial<SessionData>
    if (typeof data.user_id !== 'string' || typeof data.is_superuser !== 'boolean') return null
    return {
      user_id: data.user_id,
      is_staff: data.is_staff === true,
      is_superuser: data.is_superuser,
      created_at: String(data.created_at)
    }
  } catch {
    return null
  }
}
