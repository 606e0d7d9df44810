import pg from 'pg'
import { describe, expect, inject, it } from 'vitest'
import { databaseUrl, testRunId } from '../src/index.js'

describe('global setup', () => {
  it('gives every worker the same DATABASE_URL through the environment and inject()', () => {
    expect(process.env.DATABASE_URL).toBeTruthy()
    expect(inject('databaseUrl')).toBe(process.env.DATABASE_URL)
    expect(databaseUrl()).toBe(process.env.DATABASE_URL)
  })

  it('names the run with a short random id, in the environment and inject()', () => {
    expect(process.env.TESSERA_TEST_RUN).toMatch(/^[a-z0-9]{8}$/)
    expect(inject('testRunId')).toBe(process.env.TESSERA_TEST_RUN)
    expect(testRunId()).toBe(process.env.TESSERA_TEST_RUN)
  })

  it('points at a Postgres that answers', async () => {
    const client = new pg.Client({ connectionString: databaseUrl() })
    await client.connect()

    try {
      const { rows } = await client.query<{ answer: number }>('SELECT 41 + 1 AS answer')
      expect(rows).toEqual([{ answer: 42 }])
    } finally {
      await client.end()
    }
  })
})
