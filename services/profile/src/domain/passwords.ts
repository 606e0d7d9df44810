import { randomBytes } from 'node:crypto'
import { hash, parseOptions, verify, type Algorithm } from '@node-rs/argon2'

export interface Argon2Settings {
  /** KiB of memory per hash; default 19456 (19 MiB). */
  memoryCost?: number
  /** Passes over the memory; default 2. */
  timeCost?: number
  /** Lanes; default 1. */
  parallelism?: number
}

// Argon2id, as RFC 9106 recommends; the library's enum is a const enum isolatedModules cannot read
const ARGON2ID = 2 as Algorithm

/** OWASP's baseline for argon2id: m=19 MiB, t=2, p=1. */
export const DEFAULT_ARGON2: Required<Argon2Settings> = {
  memoryCost: 19_456, timeCost: 2, parallelism: 1
}

// OWASP's table trades memory for passes down to m=7 MiB, t=5; below that product (or below 7 MiB)
// a setting is weaker than every configuration it lists.
const MIN_MEMORY_COST = 7_168
const MIN_COST_PRODUCT = 7_168 * 5

function settingsFrom (options: Argon2Settings): Required<Argon2Settings> {
  const settings = { ...DEFAULT_ARGON2, ...options }
  const { memoryCost, timeCost, parallelism } = settings
  const integers = [memoryCost, timeCost, parallelism].every((n) => Number.isInteger(n) && n > 0)
  if (!integers || memoryCost < MIN_MEMORY_COST || memoryCost * timeCost < MIN_COST_PRODUCT) {
    const given = `m=${memoryCost} t=${timeCost} p=${parallelism}`
    throw new RangeError(`argon2 settings ${given} are below the OWASP minimum`)
  }

  return settings
}

/** Hashing and checking passwords with argon2id. */
export function createPasswords (options: Argon2Settings = {}) {
  const settings = settingsFrom(options)
  const hashOptions = { ...settings, algorithm: ARGON2ID }

  // Verified against when the address is unknown, so that case costs what a wrong password costs
  const dummy = hash(randomBytes(32).toString('base64url'), hashOptions)
  dummy.catch(() => {})

  async function check (hashed: string, password: string): Promise<boolean> {
    try {
      return await verify(hashed, password)
    } catch {
      // A malformed stored hash matches nothing
      return false
    }
  }

  return {
    settings,

    hash (password: string): Promise<string> {
      return hash(password, hashOptions)
    },

    /** `hashed` null means no such account: the dummy hash is checked and the answer is false. */
    async verify (hashed: string | null, password: string): Promise<boolean> {
      if (hashed === null) {
        await check(await dummy, password)
        return false
      }
      return check(hashed, password)
    },

    /** True when `hashed` was made with other settings; rehash it after a successful login. */
    needsRehash (hashed: string): boolean {
      try {
        const used = parseOptions(hashed)
        return used.algorithm !== ARGON2ID || used.memoryCost !== settings.memoryCost ||
          used.timeCost !== settings.timeCost || used.parallelism !== settings.parallelism
      } catch {
        return true
      }
    },

    /** Resolves once the dummy hash exists; await it at start-up so no login waits for it. */
    async ready (): Promise<void> {
      await dummy
    }
  }
}

export type Passwords = ReturnType<typeof createPasswords>
