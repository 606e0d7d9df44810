import { Redis } from 'ioredis'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { databaseUrl, describeRedis, newRunId, redisUrl, sweepTestRun } from '../src/index.js'

async function sql<T extends pg.QueryResultRow> (query: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: databaseUrl() })
  await client.connect()

  try {
    return (await client.query<T>(query, params)).rows
  } finally {
    await client.end()
  }
}

describe('sweepTestRun (Postgres)', () => {
  it('drops the schemas and databases of one run and leaves other runs alone', async () => {
    const run = newRunId()
    const other = newRunId()
    await sql(`CREATE SCHEMA t_${run}_left_a`)
    await sql(`CREATE TABLE t_${run}_left_a.rows (id int)`)
    await sql(`CREATE DATABASE t_${run}_left_b`)
    await sql(`CREATE SCHEMA t_${other}_kept`)

    try {
      const result = await sweepTestRun(run, { databaseUrl: databaseUrl() })
      expect(result).toEqual({ schemas: [`t_${run}_left_a`], databases: [`t_${run}_left_b`], redisKeys: 0 })

      const names = await sql<{ name: string }>(
        'SELECT nspname AS name FROM pg_namespace WHERE nspname IN ($1, $2) ' +
        'UNION ALL SELECT datname FROM pg_database WHERE datname = $3',
        [`t_${run}_left_a`, `t_${other}_kept`, `t_${run}_left_b`])
      expect(names).toEqual([{ name: `t_${other}_kept` }])
    } finally {
      await sql(`DROP SCHEMA IF EXISTS t_${other}_kept`)
    }
  })

  it('treats LIKE wildcards literally and refuses a run id that is not one', async () => {
    await expect(sweepTestRun('a%', { databaseUrl: databaseUrl() })).rejects.toThrow('Not a run id: "a%"')
    await expect(sweepTestRun('', {})).rejects.toThrow('Not a run id: ""')
  })
})

describeRedis('sweepTestRun (Redis)', () => {
  let raw: Redis

  beforeAll(() => {
    raw = new Redis(redisUrl()!)
  })

  afterAll(async () => {
    await raw.quit()
  })

  it('deletes the keys of one run and no others', async () => {
    const run = newRunId()
    const other = `t:${newRunId()}_kept:x`
    await raw.mset(`t:${run}_a_1:x`, '1', `t:${run}_b_2:y`, '2', other, '3')

    try {
      const result = await sweepTestRun(run, { redisUrl: redisUrl() })
      expect(result).toEqual({ schemas: [], databases: [], redisKeys: 2 })
      expect(await raw.exists(`t:${run}_a_1:x`, `t:${run}_b_2:y`)).toBe(0)
      expect(await raw.get(other)).toBe('3')
    } finally {
      await raw.del(other)
    }
  })
})
