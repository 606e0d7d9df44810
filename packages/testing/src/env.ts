import { describe, inject, it } from 'vitest'
import { newRunId } from './run-id.js'

declare module 'vitest' {
  export interface ProvidedContext {
    databaseUrl: string
    testRunId: string
  }
}

export const REDIS_SKIP_REASON = 'skipped: REDIS_URL is not set, so there is no Redis to test against'

let fallbackRunId: string | undefined

function injected (key: 'databaseUrl' | 'testRunId'): string | undefined {
  // inject() only works inside a vitest worker; other callers rely on the environment alone
  try {
    return inject(key)
  } catch {
    return undefined
  }
}

/**
 * The URL of the Postgres server the suite runs against: DATABASE_URL, or the embedded server
 * that the global setup started and provided to the workers.
 */
export function databaseUrl (): string {
  const url = process.env.DATABASE_URL || injected('databaseUrl')
  if (!url) {
    throw new Error('No database: DATABASE_URL is not set and the vitest global setup did not provide one')
  }

  return url
}

/** REDIS_URL, or undefined when the suite runs without Redis. */
export function redisUrl (): string | undefined {
  return process.env.REDIS_URL || undefined
}

/** The id of this test run, shared by every worker; names of schemas and key prefixes carry it. */
export function testRunId (): string {
  const id = process.env.TESSERA_TEST_RUN || injected('testRunId')
  if (id) return id

  fallbackRunId ??= newRunId()
  return fallbackRunId
}

/**
 * What a Redis-only suite does in an environment: run it, skip it (REDIS_URL absent on a
 * developer machine) or fail it (REDIS_URL absent in CI, where skipping would hide the tests).
 */
export function redisSuiteMode (env: NodeJS.ProcessEnv): 'run' | 'skip' | 'fail' {
  if (env.REDIS_URL) return 'run'

  return env.CI && env.CI !== 'false' && env.CI !== '0' ? 'fail' : 'skip'
}

let skipWarned = false

/**
 * `describe` for suites that need a real Redis. Without REDIS_URL the suite is skipped, with the
 * reason in its name and on stderr; in CI a missing REDIS_URL fails instead.
 */
export function describeRedis (name: string, fn: () => void): void {
  const mode = redisSuiteMode(process.env)

  if (mode === 'run') {
    describe(name, fn)
    return
  }

  if (mode === 'fail') {
    describe(name, () => {
      it('needs REDIS_URL', () => {
        throw new Error('REDIS_URL is not set in CI: the Redis tests cannot run and must not be skipped')
      })
    })
    return
  }

  if (!skipWarned) {
    skipWarned = true
    console.warn(`[tessera/testing] Redis suites ${REDIS_SKIP_REASON}`)
  }
  describe.skip(`${name} (${REDIS_SKIP_REASON})`, fn)
}
