import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { useTestDatabase } from '@tessera/testing'
import pg from 'pg'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { runMigrations } from '../../src/data/migrate.js'
import { createUsers, type User } from '../../src/data/users.js'

const run = promisify(execFile)
const CHILD = fileURLToPath(new URL('./fixtures/birth-date-child.ts', import.meta.url))
const PACKAGE_DIR = fileURLToPath(new URL('../..', import.meta.url))

/** The connection string with the Postgres session's own TimeZone set too. */
function withServerZone (url: string, zone: string): string {
  const parsed = new URL(url)
  const options = parsed.searchParams.get('options') ?? ''
  parsed.searchParams.set('options', `${options} -c TimeZone=${zone}`.trim())
  return parsed.toString()
}

interface ChildResult {
  offset: number
  written?: string
  read: string
  dateJoined: string
  naive: string
}

async function inZone (tz: string, url: string, userId: string, setTo?: string): Promise<ChildResult> {
  const args = ['--import', 'tsx', CHILD, url, userId, ...(setTo === undefined ? [] : [setTo])]
  const env = { ...process.env, TZ: tz }
  const { stdout } = await run(process.execPath, args, { cwd: PACKAGE_DIR, env })
  return JSON.parse(stdout) as ChildResult
}

describe('birth_date under any time zone', () => {
  const db = useTestDatabase()
  let user: User

  beforeAll(async () => {
    await runMigrations({ pool: db().pool })
    const users = createUsers(db().pool)
    const registered = await users.register({
      email: 'tz@example.com', firstName: 'T', lastName: 'Z', passwordHash: 'h'
    })
    user = await users.update(registered.id, { birth_date: '2000-01-01' })
  })

  it('reads and writes the same day in a process east of UTC (Asia/Tokyo)', async () => {
    const url = withServerZone(db().connectionString, 'Pacific/Kiritimati')
    const result = await inZone('Asia/Tokyo', url, user.id)

    expect(result.offset).toBe(-540)
    expect(result.read).toBe('2000-01-01')
    expect(result.dateJoined).toBe(user.date_joined)
    // The default parsing would have moved the day, which is what this test guards against
    expect(result.naive).toBe('1999-12-31')
  })

  it('reads and writes the same day in a process west of UTC (America/Los_Angeles)', async () => {
    const url = withServerZone(db().connectionString, 'Pacific/Pago_Pago')
    const result = await inZone('America/Los_Angeles', url, user.id, '1999-12-31')

    expect(result.offset).toBe(480)
    expect([result.written, result.read]).toEqual(['1999-12-31', '1999-12-31'])
    expect(result.dateJoined).toBe(user.date_joined)

    const { rows } = await db().pool.query(
      "SELECT to_char(birth_date, 'YYYY-MM-DD') AS d FROM user_profile WHERE user_id = $1", [user.id]
    )
    expect(rows).toEqual([{ d: '1999-12-31' }])
  })

  describe('in this process, TZ changed at run time', () => {
    const original = process.env.TZ

    afterEach(() => {
      if (original === undefined) delete process.env.TZ
      else process.env.TZ = original
    })

    it.each([['Asia/Tokyo', -540], ['America/Los_Angeles', 480], ['Pacific/Kiritimati', -840]])(
      'keeps the day under %s', async (zone, offset) => {
        process.env.TZ = zone
        // Node applies a TZ assignment at once; check it did, or the test would prove nothing
        expect(new Date(2000, 0, 1).getTimezoneOffset()).toBe(offset)

        const pool = new pg.Pool({ connectionString: db().connectionString, max: 1 })
        try {
          const users = createUsers(pool)
          const updated = await users.update(user.id, { birth_date: '1970-01-01' })
          expect(updated.profile.birth_date).toBe('1970-01-01')
          expect((await users.findById(user.id))?.profile.birth_date).toBe('1970-01-01')
          expect((await users.findById(user.id))?.date_joined).toBe(user.date_joined)
        } finally {
          await pool.end()
        }
      })
  })
})
