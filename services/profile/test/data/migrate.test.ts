import {
  createTestDatabase, databaseUrl, uniqueName, useTestDatabase, withSearchPath
} from '@tessera/testing'
import pg from 'pg'
import { describe, expect, it } from 'vitest'
import { runMigrations } from '../../src/data/migrate.js'

const MIGRATIONS = ['1764748800000_create-users']
const TABLES = ['profile_migrations', 'user_profile', 'users']

async function tablesIn (pool: pg.Pool, schema: string): Promise<string[]> {
  const { rows } = await pool.query<{ name: string }>(
    'SELECT table_name AS name FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1', [schema])
  return rows.map((row) => row.name)
}

describe('migrations', () => {
  const db = useTestDatabase()

  it('apply once into the schema of the connection, migrations table included', async () => {
    expect(await runMigrations({ connectionString: db().connectionString })).toEqual(MIGRATIONS)
    expect(await runMigrations({ connectionString: db().connectionString })).toEqual([])

    expect(await tablesIn(db().pool, db().schema)).toEqual(TABLES)
    const { rows } = await db().pool.query('SELECT name FROM profile_migrations')
    expect(rows).toEqual([{ name: MIGRATIONS[0] }])
  })

  it('run from a pool without leaving the borrowed connection behind', async () => {
    const other = await createTestDatabase({ label: 'migrate_pool' })
    const pool = new pg.Pool({ connectionString: other.connectionString, max: 1 })
    try {
      expect(await runMigrations({ pool })).toEqual(MIGRATIONS)
      expect(pool.totalCount).toBe(0)
      expect((await pool.query('SELECT count(*)::int AS n FROM users')).rows).toEqual([{ n: 0 }])
    } finally {
      await pool.end()
      await other.drop()
    }
  })

  it('let replicas that start together all succeed, one of them applying', async () => {
    const other = await createTestDatabase({ label: 'migrate_race' })
    try {
      const { connectionString } = other
      const runs = await Promise.all([1, 2, 3, 4].map(() => runMigrations({ connectionString })))
      expect(runs.flat()).toEqual(MIGRATIONS)
      expect(await tablesIn(other.pool, other.schema)).toEqual(TABLES)
    } finally {
      await other.drop()
    }
  })

  it('create a schema named explicitly', async () => {
    const schema = `t_${uniqueName('migrate_named')}`
    const admin = new pg.Pool({ connectionString: databaseUrl(), max: 1 })
    try {
      expect(await runMigrations({ connectionString: databaseUrl(), schema })).toEqual(MIGRATIONS)
      expect(await tablesIn(admin, schema)).toEqual(TABLES)
    } finally {
      await admin.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(schema)} CASCADE`)
      await admin.end()
    }
  })

  it('refuse a search_path whose schema does not exist', async () => {
    const url = withSearchPath(databaseUrl(), `t_${uniqueName('missing')}`)
    await expect(runMigrations({ connectionString: url }))
      .rejects.toThrow('no schema on the search_path exists')
  })

  it('install the checks that back the validators', async () => {
    const other = await createTestDatabase({ label: 'migrate_checks' })
    try {
      await runMigrations({ pool: other.pool })
      const { rows } = await other.pool.query<{ name: string }>(`SELECT conname AS name
        FROM pg_constraint WHERE contype = 'c' AND connamespace = $1::regnamespace ORDER BY 1`,
      [other.schema])
      expect(rows.map((row) => row.name)).toEqual([
        'user_profile_birth_date_range', 'user_profile_github_link_form', 'user_profile_phone_number_e164',
        'users_email_length', 'users_first_name_length', 'users_last_name_length', 'users_thumbnail_length'
      ])
    } finally {
      await other.drop()
    }
  })
})
