import pg from 'pg'
import { Redis } from 'ioredis'
import type { TestProject } from 'vitest/node'
import { startEmbeddedPostgres, type EmbeddedPostgresServer } from './embedded-postgres.js'
import { newRunId } from './run-id.js'
import { sweepTestRun } from './sweep.js'

interface Started {
  databaseUrl: string
  runId: string
  embedded?: EmbeddedPostgresServer
  ownedEnv: string[]
}

interface SharedState {
  users: number
  started: Promise<Started>
}

// Vitest runs the global setup once per selected project and once for the root, each time from a
// freshly evaluated module, so the state lives on globalThis and the last teardown stops Postgres
const KEY = Symbol.for('tessera.testing.global-setup')
const registry = globalThis as { [KEY]?: SharedState }
const RUN_ID = /^[a-z0-9]{1,12}$/

function redact (url: string): string {
  const parsed = new URL(url)
  if (parsed.password) parsed.password = '***'
  return parsed.toString()
}

async function checkPostgres (url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 })

  try {
    await client.connect()
    await client.query('SELECT 1')
  } catch (err) {
    throw new Error(`DATABASE_URL ${redact(url)} does not answer: ${(err as Error).message}`, { cause: err })
  } finally {
    await client.end().catch(() => {})
  }
}

async function checkRedis (url: string): Promise<void> {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 5000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null
  })

  try {
    await client.connect()
    await client.ping()
  } catch (err) {
    throw new Error(`REDIS_URL ${redact(url)} does not answer: ${(err as Error).message}`, { cause: err })
  } finally {
    client.disconnect()
  }
}

async function start (): Promise<Started> {
  const ownedEnv: string[] = []
  if (!process.env.TESSERA_TEST_RUN) {
    process.env.TESSERA_TEST_RUN = newRunId()
    ownedEnv.push('TESSERA_TEST_RUN')
  } else if (!RUN_ID.test(process.env.TESSERA_TEST_RUN)) {
    // It becomes part of unquoted SQL identifiers and of key patterns
    throw new Error(`TESSERA_TEST_RUN must be 1-12 lowercase letters or digits, not "${process.env.TESSERA_TEST_RUN}"`)
  }

  if (process.env.REDIS_URL) await checkRedis(process.env.REDIS_URL)

  if (process.env.DATABASE_URL) {
    await checkPostgres(process.env.DATABASE_URL)
    return { databaseUrl: process.env.DATABASE_URL, runId: process.env.TESSERA_TEST_RUN, ownedEnv }
  }

  const embedded = await startEmbeddedPostgres()
  console.log(`[tessera/testing] DATABASE_URL is not set: embedded Postgres on 127.0.0.1:${embedded.port}`)

  // Test workers are started after the global setup, so they inherit this
  process.env.DATABASE_URL = embedded.url
  ownedEnv.push('DATABASE_URL')

  return { databaseUrl: embedded.url, runId: process.env.TESSERA_TEST_RUN, embedded, ownedEnv }
}

async function release (): Promise<void> {
  const state = registry[KEY]
  if (!state) return

  state.users -= 1
  if (state.users > 0) return

  delete registry[KEY]
  const started = await state.started.catch(() => undefined)
  if (!started) return

  try {
    await sweep(started)
  } finally {
    for (const name of started.ownedEnv) delete process.env[name]
    await started.embedded?.stop()
  }
}

async function sweep (started: Started): Promise<void> {
  const left = await sweepTestRun(started.runId, {
    // An embedded server is thrown away whole
    databaseUrl: started.embedded ? undefined : started.databaseUrl,
    redisUrl: process.env.REDIS_URL
  })

  const names = [...left.schemas, ...left.databases]
  if (names.length > 0 || left.redisKeys > 0) {
    console.warn(`[tessera/testing] removed what tests left behind: ${names.join(', ') || 'no schemas'}` +
      `, ${left.redisKeys} Redis keys`)
  }
}

export default async function setup (project: TestProject): Promise<() => Promise<void>> {
  const state = registry[KEY] ??= { users: 0, started: start() }
  state.users += 1

  let started: Started
  try {
    started = await state.started
  } catch (err) {
    await release()
    throw err
  }

  // Workers read process.env first; provide() reaches them even where the environment does not
  project.provide('databaseUrl', started.databaseUrl)
  project.provide('testRunId', started.runId)

  return release
}
