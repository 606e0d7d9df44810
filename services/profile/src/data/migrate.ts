import { createHash } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { runner } from 'node-pg-migrate'
import pg from 'pg'

const MIGRATIONS_DIR = fileURLToPath(new URL('../migrations', import.meta.url))
const MIGRATIONS_TABLE = 'profile_migrations'
const LOCK_BUSY = 'Another migration is already running'

export interface MigrationLog {
  info (message: string): void
  warn (message: string): void
  error (message: string): void
}

export interface RunMigrationsOptions {
  /** Used when no pool is given; its `options=-c search_path=...` chooses the schema. */
  connectionString?: string
  /** A connection is borrowed from it and discarded afterwards, so no session state leaks back. */
  pool?: pg.Pool
  /** Where tables and the migrations table go; defaults to the connection's current schema. */
  schema?: string
  log?: MigrationLog
  /** How long to wait for another process that is migrating the same schema; default 60 s. */
  lockWaitMs?: number
}

const quiet: MigrationLog = { info () {}, warn () {}, error () {} }

/**
 * Applies every pending migration in one transaction and returns the names it applied.
 * Replicas that start together serialise on an advisory lock per schema; the late ones wait
 * and then find nothing to do.
 */
export async function runMigrations (options: RunMigrationsOptions): Promise<string[]> {
  const { pool, connectionString } = options
  if (pool === undefined && connectionString === undefined) {
    throw new TypeError('runMigrations needs a pool or a connection string')
  }

  const client = pool === undefined ? await connected(connectionString) : await pool.connect()
  try {
    const schema = options.schema ?? await currentSchema(client)
    return await runLocked(client, schema, options)
  } finally {
    // Discarded: the runner leaves `search_path` set on this session
    if (pool === undefined) await (client as pg.Client).end()
    else (client as pg.PoolClient).release(true)
  }
}

async function connected (connectionString: string | undefined): Promise<pg.Client> {
  const client = new pg.Client({ connectionString })
  await client.connect()
  return client
}

async function currentSchema (client: pg.ClientBase): Promise<string> {
  const { rows } = await client.query<{ schema: string | null }>(
    'SELECT current_schema() AS schema'
  )
  const schema = rows[0]?.schema
  if (!schema) throw new Error('no schema on the search_path exists; create it before migrating')

  return schema
}

async function runLocked (client: pg.ClientBase, schema: string, options: RunMigrationsOptions) {
  const deadline = Date.now() + (options.lockWaitMs ?? 60_000)

  for (let delay = 100; ; delay = Math.min(delay * 2, 2000)) {
    try {
      const applied = await runner({
        dbClient: client,
        dir: MIGRATIONS_DIR,
        // Only .sql files are migrations; anything else would be imported as a module
        ignorePattern: '.*(?<!\\.sql)',
        migrationsTable: MIGRATIONS_TABLE,
        schema,
        migrationsSchema: schema,
        createSchema: options.schema !== undefined,
        direction: 'up',
        checkOrder: true,
        // The library's documented default is not what its code does: say it explicitly
        singleTransaction: true,
        lockValue: lockValueFor(schema),
        logger: options.log ?? quiet
      })
      return applied.map((migration) => migration.name)
    } catch (err) {
      const busy = err instanceof Error && err.message.includes(LOCK_BUSY)
      if (!busy || Date.now() + delay > deadline) throw err
      await sleep(delay)
    }
  }
}

// The library's default lock id is shared by every user of it in the database; one per schema
// lets test schemas migrate in parallel while replicas of one deployment still serialise.
function lockValueFor (schema: string): number {
  return createHash('sha256').update(`tessera-profile:${schema}`).digest().readUIntBE(0, 6)
}
