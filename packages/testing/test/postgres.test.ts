import pg from 'pg'
import { afterAll, describe, expect, it } from 'vitest'
import {
  createFreshDatabase, createTestDatabase, databaseUrl, testRunId, useTestDatabase, withDatabase,
  withSearchPath
} from '../src/index.js'

async function adminRows<T extends pg.QueryResultRow> (sql: string, params: unknown[] = [], url = databaseUrl()) {
  const client = new pg.Client({ connectionString: url })
  await client.connect()

  try {
    return (await client.query<T>(sql, params)).rows
  } finally {
    await client.end()
  }
}

async function schemaExists (schema: string): Promise<boolean> {
  const rows = await adminRows('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema])
  return rows.length === 1
}

async function databaseExists (name: string): Promise<boolean> {
  const rows = await adminRows('SELECT 1 FROM pg_database WHERE datname = $1', [name])
  return rows.length === 1
}

describe('withSearchPath', () => {
  it('sets the options parameter and keeps what the URL already had', () => {
    const url = withSearchPath('postgres://u:p@h:5/db?sslmode=disable', 's1')
    expect(new URL(url).searchParams.get('options')).toBe('-c search_path=s1')
    expect(new URL(url).searchParams.get('sslmode')).toBe('disable')

    const twice = withSearchPath('postgres://h/db?options=-c%20statement_timeout%3D5s', 's2')
    expect(new URL(twice).searchParams.get('options')).toBe('-c statement_timeout=5s -c search_path=s2')
  })

  it('withDatabase swaps only the database name', () => {
    expect(withDatabase('postgres://u:p@h:5/db?x=1', 'other')).toBe('postgres://u:p@h:5/other?x=1')
  })
})

describe('createTestDatabase', () => {
  const created: Array<{ drop(): Promise<void> }> = []
  afterAll(async () => {
    for (const db of created) await db.drop()
  })

  it('creates a schema named after the run and this file', async () => {
    const db = await createTestDatabase()
    created.push(db)

    expect(db.schema).toMatch(new RegExp(`^t_${testRunId()}_postgres_[0-9a-f]{8}$`))
    expect(db.database).toBe(new URL(databaseUrl()).pathname.slice(1) || 'postgres')
    expect(await schemaExists(db.schema)).toBe(true)
  })

  it('makes any pg Pool built from the connection string use the schema', async () => {
    const db = await createTestDatabase({ label: 'search path' })
    created.push(db)
    const other = new pg.Pool({ connectionString: db.connectionString })

    try {
      const { rows } = await other.query('SHOW search_path')
      expect(rows).toEqual([{ search_path: db.schema }])

      await other.query('CREATE TABLE things (name text)')
      await other.query("INSERT INTO things VALUES ('kept')")

      const tables = await adminRows(
        'SELECT table_schema FROM information_schema.tables WHERE table_name = $1 AND table_schema IN ($2, $3)',
        ['things', db.schema, 'public'])
      expect(tables).toEqual([{ table_schema: db.schema }])
      expect((await db.pool.query('SELECT name FROM things')).rows).toEqual([{ name: 'kept' }])
    } finally {
      await other.end()
    }
  })

  it('keeps two schemas apart even with the same table names', async () => {
    const a = await createTestDatabase({ label: 'a' })
    const b = await createTestDatabase({ label: 'b' })
    created.push(a, b)

    for (const [db, value] of [[a, 'in a'], [b, 'in b']] as const) {
      await db.pool.query('CREATE TABLE items (value text)')
      await db.pool.query('INSERT INTO items VALUES ($1)', [value])
    }

    expect(a.schema).not.toBe(b.schema)
    expect((await a.pool.query('SELECT value FROM items')).rows).toEqual([{ value: 'in a' }])
    expect((await b.pool.query('SELECT value FROM items')).rows).toEqual([{ value: 'in b' }])
  })

  it('drop() removes the schema and its tables, and is safe to call twice', async () => {
    const db = await createTestDatabase({ label: 'drop' })
    await db.pool.query('CREATE TABLE doomed (id int)')

    await db.drop()
    expect(await schemaExists(db.schema)).toBe(false)

    await db.drop()
    await Promise.all([db.drop(), db.drop()])
    expect(await schemaExists(db.schema)).toBe(false)
    expect(db.pool.ended).toBe(true)
  })
})

describe('useTestDatabase', () => {
  let schema = ''

  // Registered first, so it runs after the helper's own afterAll (vitest runs them as a stack)
  afterAll(async () => {
    expect(schema).not.toBe('')
    expect(await schemaExists(schema)).toBe(false)
  })

  const db = useTestDatabase({ label: 'hooked' })

  it('creates the schema before the tests', async () => {
    schema = db().schema
    expect(schema).toMatch(new RegExp(`^t_${testRunId()}_hooked_[0-9a-f]{8}$`))
    expect(await schemaExists(schema)).toBe(true)
  })
})

describe('createFreshDatabase', () => {
  it('creates a database of its own where extensions and public objects stay inside', async () => {
    const db = await createFreshDatabase({ label: 'fresh' })

    try {
      expect(db.schema).toBe('public')
      expect(db.database).toMatch(new RegExp(`^t_${testRunId()}_fresh_[0-9a-f]{8}$`))
      expect(new URL(db.connectionString).pathname).toBe(`/${db.database}`)

      await db.pool.query('CREATE EXTENSION citext')
      await db.pool.query('CREATE TABLE people (email citext)')
      await db.pool.query("INSERT INTO people VALUES ('Ada@Example.com')")

      const found = await db.pool.query(
        "SELECT current_database() AS name, count(*)::int AS n FROM people WHERE email = 'ada@example.com'")
      expect(found.rows).toEqual([{ name: db.database, n: 1 }])

      const shared = await adminRows("SELECT 1 FROM pg_extension WHERE extname = 'citext'")
      expect(shared).toEqual([])
    } finally {
      await db.drop()
    }

    expect(await databaseExists(db.database)).toBe(false)
  })

  it('drop() ends connections left open and is safe to call twice', async () => {
    const db = await createFreshDatabase({ label: 'forgotten' })
    const leaked = new pg.Client({ connectionString: db.connectionString })
    leaked.on('error', () => {})
    await leaked.connect()

    await db.drop()
    await db.drop()

    expect(await databaseExists(db.database)).toBe(false)
    await expect(leaked.query('SELECT 1')).rejects.toThrow()
    await leaked.end().catch(() => {})
  })
})
