import fastifyPostgres from '@fastify/postgres'
import type { FastifyInstance } from 'fastify'
import type pg from 'pg'
import { Gauge, type Registry } from 'prom-client'

// A Postgres that stops answering (a partition, a stuck server) fails a request after these
// bounds instead of holding it and its pooled connection forever.
const CONNECT_TIMEOUT_MS = 5000
const QUERY_TIMEOUT_MS = 5000

/**
 * libpq's `connect_timeout` (seconds) when DATABASE_URL gives one: node-postgres reads it only for
 * pg-native. Its `query_timeout` parameter (ms) needs nothing here: node-postgres prefers it.
 */
function connectTimeoutMs (connectionString: string): number {
  const given = URL.canParse(connectionString)
    ? new URL(connectionString).searchParams.get('connect_timeout')
    : null
  const seconds = Number(given)
  return given !== null && seconds > 0 ? seconds * 1000 : CONNECT_TIMEOUT_MS
}

export interface PoolOptions {
  /** An injected pool (tests, the embedded stack); its owner ends it. */
  pool?: pg.Pool
  connectionString: string
  max: number
}

/**
 * The app's Postgres pool: the injected one, or one of @fastify/postgres (ended on close). Either
 * way it gets an `error` listener: pg emits one when the server drops an idle connection, and an
 * EventEmitter with no listener would throw it and end the process.
 */
export async function registerPool (app: FastifyInstance, options: PoolOptions): Promise<pg.Pool> {
  if (options.pool === undefined) {
    await app.register(fastifyPostgres, {
      connectionString: options.connectionString,
      max: options.max,
      application_name: 'tessera-profile',
      // TODO: migrations at start-up borrow this pool, so each of their statements is held to the
      // query timeout too; a long one (an index on a big table) belongs in the migrate command.
      connectionTimeoutMillis: connectTimeoutMs(options.connectionString),
      query_timeout: QUERY_TIMEOUT_MS
    })
  }
  const pool = options.pool ?? app.pg.pool

  const onError = (err: Error) => app.log.error({ err }, 'idle Postgres connection failed')
  pool.on('error', onError)
  // Our own pool keeps its listener to the end: Postgres may go away while the pool is closing (the
  // embedded stack's Ctrl-C reaches both). An injected pool belongs to its owner, who listens too.
  if (options.pool !== undefined) app.addHook('onClose', async () => { pool.off('error', onError) })

  return pool
}

/** The pool figures of the JSON snapshot's `database` key. */
export function poolFigures (pool: pg.Pool, max: number): Record<string, number> {
  return {
    total_count: pool.totalCount,
    idle_count: pool.idleCount,
    waiting_count: pool.waitingCount,
    max
  }
}

/** `tessera_pg_pool_{total,idle,waiting}`, read from the pool at each scrape. */
export function registerPoolGauges (registry: Registry, pool: pg.Pool): void {
  const gauges = [
    ['tessera_pg_pool_connections', 'Connections the Postgres pool holds', () => pool.totalCount],
    ['tessera_pg_pool_idle', 'Pooled Postgres connections not in use', () => pool.idleCount],
    ['tessera_pg_pool_waiting', 'Queries waiting for a Postgres connection', () => pool.waitingCount]
  ] as const

  for (const [name, help, read] of gauges) {
    // eslint-disable-next-line no-new
    new Gauge({
      name,
      help,
      registers: [registry],
      collect () { this.set(read()) }
    })
  }
}
