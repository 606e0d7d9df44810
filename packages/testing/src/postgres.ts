import pg from 'pg'
import { afterAll, beforeAll } from 'vitest'
import { databaseUrl } from './env.js'
import { uniqueName } from './names.js'

export interface TestDatabase {
  /** Connects to this test's own schema (or database); any pg Pool built from it lands there. */
  connectionString: string
  /** The schema that unqualified names resolve to (`public` in a fresh database). */
  schema: string
  database: string
  /** A pool on `connectionString`, ended by `drop()`. */
  pool: pg.Pool
  /** Ends `pool` and drops the schema (or database) with everything in it; safe to call twice. */
  drop(): Promise<void>
}

export interface TestDatabaseOptions {
  /** Part of the generated name; defaults to the current test file's name. */
  label?: string
  /** The server to use; defaults to `databaseUrl()`. */
  baseUrl?: string
}

// A drop that waits on a lock held by a forgotten transaction should fail, not hang the suite
const DROP_LOCK_TIMEOUT = '10s'

/**
 * Returns `url` with `options=-c search_path=<schema>` set, so that every connection made from
 * it (node-postgres, node-pg-migrate, psql) resolves unqualified names in `schema`.
 */
export function withSearchPath (url: string, schema: string): string {
  const parsed = new URL(url)
  const current = parsed.searchParams.get('options')
  const setting = `-c search_path=${schema}`

  parsed.searchParams.set('options', current ? `${current} ${setting}` : setting)
  return parsed.toString()
}

/** Returns `url` pointing at another database on the same server. */
export function withDatabase (url: string, database: string): string {
  const parsed = new URL(url)
  parsed.pathname = `/${encodeURIComponent(database)}`

  return parsed.toString()
}

async function adminQuery (url: string, ...statements: string[]): Promise<void> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()

  try {
    for (const statement of statements) await client.query(statement)
  } finally {
    await client.end()
  }
}

function once (fn: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | undefined
  return () => {
    running ??= fn()
    return running
  }
}

function databaseName (url: string): string {
  return decodeURIComponent(new URL(url).pathname.slice(1)) || 'postgres'
}

/**
 * Creates a schema of its own in the shared test database. Each test file should use one, so that
 * files run in parallel without seeing each other's rows.
 */
export async function createTestDatabase (
  options: TestDatabaseOptions = {}
): Promise<TestDatabase> {
  const baseUrl = options.baseUrl ?? databaseUrl()
  const schema = `t_${uniqueName(options.label)}`
  const quoted = pg.escapeIdentifier(schema)

  await adminQuery(baseUrl, `CREATE SCHEMA ${quoted}`)

  const connectionString = withSearchPath(baseUrl, schema)
  const pool = new pg.Pool({ connectionString })

  const drop = once(async () => {
    await pool.end()
    await adminQuery(baseUrl,
      `SET lock_timeout = '${DROP_LOCK_TIMEOUT}'`,
      `DROP SCHEMA IF EXISTS ${quoted} CASCADE`)
  })

  return { connectionString, schema, database: databaseName(baseUrl), pool, drop }
}

/**
 * Creates a whole database of its own, for tests that need more than a schema: extensions,
 * objects in `public`, database-level settings. Costs a CREATE DATABASE (tens of milliseconds).
 */
export async function createFreshDatabase (
  options: TestDatabaseOptions = {}
): Promise<TestDatabase> {
  const baseUrl = options.baseUrl ?? databaseUrl()
  const database = `t_${uniqueName(options.label)}`
  const quoted = pg.escapeIdentifier(database)

  await adminQuery(baseUrl, `CREATE DATABASE ${quoted}`)

  const connectionString = withDatabase(baseUrl, database)
  const pool = new pg.Pool({ connectionString })

  const drop = once(async () => {
    await pool.end()
    // FORCE ends connections that the code under test forgot to close
    await adminQuery(baseUrl, `DROP DATABASE IF EXISTS ${quoted} WITH (FORCE)`)
  })

  return { connectionString, schema: 'public', database, pool, drop }
}

function useDatabase (
  create: (options: TestDatabaseOptions) => Promise<TestDatabase>,
  options: TestDatabaseOptions
): () => TestDatabase {
  let db: TestDatabase | undefined

  beforeAll(async () => {
    db = await create(options)
  })

  afterAll(async () => {
    await db?.drop()
  })

  return () => {
    if (!db) throw new Error('The test database exists only once beforeAll has run')
    return db
  }
}

/** Registers beforeAll/afterAll that create and drop a schema for the current file or suite. */
export function useTestDatabase (options: TestDatabaseOptions = {}): () => TestDatabase {
  return useDatabase(createTestDatabase, options)
}

/** Like `useTestDatabase`, with a whole fresh database. */
export function useFreshDatabase (options: TestDatabaseOptions = {}): () => TestDatabase {
  return useDatabase(createFreshDatabase, options)
}
