import { createHash } from 'node:crypto'
import type { Redis } from 'ioredis'

export interface RateRule {
  /** Part of the key: one counter per rule and address. */
  name: string
  max: number
  windowSeconds: number
}

export interface RateHit {
  allowed: boolean
  /** Seconds until the window ends, at least 1. */
  retryAfter: number
}

export interface RateLimiter {
  /** Counts one attempt against `rule` for `subject`; refused once the count passes `max`. */
  hit (rule: RateRule, subject: string): Promise<RateHit>
  /** Forgets the attempts of `subject` under `rule` (a login that succeeded). */
  reset (rule: RateRule, subject: string): Promise<void>
}

// Addresses are personal data: keys carry a digest of the normalised address, not the address
function keyOf (rule: RateRule, subject: string): string {
  const digest = createHash('sha256').update(subject.trim().toLowerCase()).digest('hex')
  return `rate-limit:${rule.name}:${digest.slice(0, 32)}`
}

function retryAfterOf (ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000))
}

// KEYS[1] the counter; ARGV[1] the window in ms. A fixed window that starts at the first hit.
const HIT_SCRIPT = `
local count = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {count, ttl}
`

/** Counters shared by every replica: `rate-limit:<rule>:<digest>` under the client's keyPrefix. */
export function createRedisRateLimiter (redis: Redis): RateLimiter {
  return {
    async hit (rule, subject) {
      const windowMs = String(rule.windowSeconds * 1000)
      const [count, ttl] = await redis.eval(HIT_SCRIPT, 1, keyOf(rule, subject), windowMs) as [number, number]
      return { allowed: count <= rule.max, retryAfter: retryAfterOf(ttl) }
    },

    async reset (rule, subject) {
      await redis.del(keyOf(rule, subject))
    }
  }
}

const SWEEP_INTERVAL_MS = 60_000

/** Counters in this process, for a single process without Redis (the embedded stack, dev). */
export function createMemoryRateLimiter (now: () => number = Date.now): RateLimiter & { size (): number } {
  const windows = new Map<string, { count: number, endsAt: number }>()
  let lastSweep = now()

  function sweep (time: number): void {
    if (time - lastSweep < SWEEP_INTERVAL_MS) return

    lastSweep = time
    for (const [key, window] of windows) {
      if (window.endsAt <= time) windows.delete(key)
    }
  }

  return {
    async hit (rule, subject) {
      const time = now()
      sweep(time)

      const key = keyOf(rule, subject)
      let window = windows.get(key)
      if (window === undefined || window.endsAt <= time) {
        window = { count: 0, endsAt: time + rule.windowSeconds * 1000 }
        windows.set(key, window)
      }

      window.count += 1
      return { allowed: window.count <= rule.max, retryAfter: retryAfterOf(window.endsAt - time) }
    },

    async reset (rule, subject) {
      windows.delete(keyOf(rule, subject))
    },

    size () {
      return windows.size
    }
  }
}
