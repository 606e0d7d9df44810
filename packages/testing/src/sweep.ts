import { Redis } from 'ioredis'
import pg from 'pg'

export interface SweepResult {
  schemas: string[]
  databases: string[]
  redisKeys: number
}

function likeEscape (text: string): string {
  return text.replace(/[\\%_]/g, '\\$&')
}

async function sweepPostgres (url: string, runId: string): Promise<Omit<SweepResult, 'redisKeys'>> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()

  try {
    const pattern = `${likeEscape(`t_${runId}_`)}%`
    const schemas = (await client.query<{ name: string }>(
      'SELECT nspname AS name FROM pg_namespace WHERE nspname LIKE $1 ORDER BY 1', [pattern])).rows
    const databases = (await client.query<{ name: string }>(
      'SELECT datname AS name FROM pg_database WHERE datname LIKE $1 ORDER BY 1', [pattern])).rows

    for (const { name } of schemas) {
      await client.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(name)} CASCADE`)
    }
    for (const { name } of databases) {
      await client.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`)
    }

    return { schemas: schemas.map((row) => row.name), databases: databases.map((row) => row.name) }
  } finally {
    await client.end()
  }
}

async function sweepRedis (url: string, runId: string): Promise<number> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 })
  await redis.connect()

  try {
    let cursor = '0'
    let deleted = 0
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `t:${runId}_*`, 'COUNT', 500)
      if (keys.length > 0) deleted += await redis.unlink(...keys)
      cursor = next
    } while (cursor !== '0')

    return deleted
  } finally {
    await redis.quit().catch(() => redis.disconnect())
  }
}

/**
 * Removes what the helpers of run `runId` left behind: schemas and databases named `t_<runId>_…`
 * and Redis keys under `t:<runId>_`. The global teardown calls it, because vitest skips the
 * remaining afterAll hooks of a file once one of them fails.
 */
export async function sweepTestRun (
  runId: string,
  targets: { databaseUrl?: string | undefined, redisUrl?: string | undefined }
): Promise<SweepResult> {
  if (!/^[a-z0-9]+$/.test(runId)) throw new Error(`Not a run id: ${JSON.stringify(runId)}`)

  const found = targets.databaseUrl
    ? await sweepPostgres(targets.databaseUrl, runId)
    : { schemas: [], databases: [] }
  const redisKeys = targets.redisUrl ? await sweepRedis(targets.redisUrl, runId) : 0

  return { ...found, redisKeys }
}
