import { objectUrl } from '@tessera/media-url'
import { useTestApp, useTestDatabase } from '@tessera/testing'
import { describe, expect, it } from 'vitest'
import { buildApp } from '../../src/app.js'
import { driver, rowsOf, S3_PUBLIC_URL, testConfig } from '../helpers/app.js'

const OTHER_USER = '7d3c8f1e-2b4a-4c6d-8e9f-0a1b2c3d4e5f'
const INTERNAL = {
  error: 'the server encountered a problem and could not process your request', code: 'HTTP_INTERNAL'
}

function thumbnailOf (userId: string, name = 'photo'): string {
  return objectUrl(`thumbnails/${userId}/01HZY8Q6M5J7K2V3W4X5Y6Z7AB_${name}.png`, { publicUrl: S3_PUBLIC_URL })
}

function daysFromNow (days: number): string {
  return new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10)
}

describe('PATCH /users/update-user/', () => {
  const db = useTestDatabase()
  const app = useTestApp(() => buildApp(testConfig(db().connectionString), { pool: db().pool }))
  const http = driver(app)
  let serial = 0

  async function signedIn () {
    serial += 1
    return http.seededSession(db().pool, `patch-${serial}@example.com`)
  }

  it('applies the given fields, normalised, and leaves absent ones unchanged', async () => {
    const { id, session } = await signedIn()
    const thumbnail = thumbnailOf(id)

    const response = await http.patch(session, {
      first_name: ' Grace ',
      thumbnail,
      phone_number: '+1 650-253-0000',
      birth_date: '1990-02-28',
      github_link: 'https://www.GitHub.com/octocat/'
    })

    expect(response.statusCode).toBe(200)
    const user = response.json()
    expect(user).toMatchObject({
      id,
      first_name: 'Grace',
      last_name: 'Lovelace',
      thumbnail,
      profile: {
        user_id: id, phone_number: '+16502530000', birth_date: '1990-02-28', github_link: 'https://github.com/octocat'
      }
    })

    const renamed = await http.patch(session, { last_name: 'Hopper' })
    expect(renamed.json()).toEqual({ ...user, last_name: 'Hopper' })
    const nothing = await http.patch(session, {})
    expect([nothing.statusCode, nothing.body]).toEqual([200, renamed.body])
    expect((await http.currentUser(session)).body).toBe(renamed.body)
  })

  it('clears a nullable field given null or ""', async () => {
    const { id, session } = await signedIn()
    await http.patch(session, {
      thumbnail: thumbnailOf(id),
      phone_number: '+16502530000',
      birth_date: '1990-01-01',
      github_link: 'https://github.com/x'
    })

    const response = await http.patch(session, {
      thumbnail: '', phone_number: null, birth_date: '', github_link: null
    })

    expect(response.statusCode).toBe(200)
    expect(response.json()).toMatchObject({
      first_name: 'Ada', thumbnail: null, profile: { phone_number: null, birth_date: null, github_link: null }
    })
    const rows = await rowsOf(db().pool, id)
    expect([rows.user[0].thumbnail, rows.profile[0]]).toEqual([null, {
      id: expect.any(String), user_id: id, phone_number: null, birth_date: null, github_link: null
    }])
  })

  it('refuses to clear a name (422) and changes nothing', async () => {
    const { id, session } = await signedIn()
    const before = await rowsOf(db().pool, id)

    const payloads = [{ first_name: '' }, { last_name: null }, { first_name: '   ', phone_number: '+16502530000' }]
    for (const payload of payloads) {
      const response = await http.patch(session, payload)
      const field = Object.keys(payload)[0]!
      expect([response.statusCode, response.json()]).toEqual([422, {
        error: { [field]: 'must not be empty' }, code: 'PROFILE_VALIDATION_FAILED'
      }])
    }
    expect(await rowsOf(db().pool, id)).toEqual(before)
  })

  it('refuses unknown keys, privileged ones included, with 400 and changes nothing', async () => {
    const { id, session } = await signedIn()
    const before = await rowsOf(db().pool, id)

    const keys = ['is_superuser', 'is_staff', 'is_active', 'email', 'password', 'id', 'date_joined', 'profile']
    for (const key of keys) {
      const response = await http.patch(session, { first_name: 'Mallory', [key]: true })
      expect([response.statusCode, response.json()]).toEqual([400, {
        error: `body contains unknown key "${key}"`, code: 'HTTP_UNKNOWN_KEY'
      }])
    }
    expect(await rowsOf(db().pool, id)).toEqual(before)
  })

  it('refuses wrong JSON types with 400', async () => {
    const { id, session } = await signedIn()
    const before = await rowsOf(db().pool, id)
    const cases: Array<[unknown, string]> = [
      [{ birth_date: 19900101 }, 'body contains incorrect JSON type for "birth_date": must be a string or null'],
      [{ first_name: 42 }, 'body contains incorrect JSON type for "first_name": must be a string or null'],
      [{ phone_number: ['+1650'] }, 'body contains incorrect JSON type for "phone_number": must be a string or null'],
      [{ github_link: {} }, 'body contains incorrect JSON type for "github_link": must be a string or null'],
      [['first_name'], 'body must be an object']
    ]

    for (const [payload, error] of cases) {
      const response = await http.patch(session, payload)
      expect([response.statusCode, response.json()]).toEqual([400, { error, code: 'HTTP_BAD_REQUEST' }])
    }
    expect(await rowsOf(db().pool, id)).toEqual(before)
  })

  it('refuses invalid values with one 422 naming each field, and changes neither table', async () => {
    const { id, session } = await signedIn()
    await http.patch(session, { phone_number: '+16502530000', birth_date: '1990-01-01' })
    const before = await rowsOf(db().pool, id)

    const response = await http.patch(session, {
      first_name: 'Applied Never',
      phone_number: '+1 555 0100',
      birth_date: '2023-02-29',
      github_link: 'https://github.com.evil.com/octocat'
    })
    expect([response.statusCode, response.json()]).toEqual([422, {
      error: {
        phone_number: 'must be a valid phone number',
        birth_date: 'must be a real calendar date',
        github_link: 'must be a link to github.com'
      },
      code: 'PROFILE_VALIDATION_FAILED'
    }])
    expect(await rowsOf(db().pool, id)).toEqual(before)
  })

  it.each([
    ['phone_number', '6502530000', 'must start with + and the country code, such as +16502530000'],
    ['phone_number', 'call me maybe', 'must be a phone number such as +16502530000'],
    ['birth_date', '1899-12-31', 'must not be before 1900-01-01'],
    ['birth_date', daysFromNow(2), 'must not be in the future'],
    ['birth_date', '1990-13-01', 'must be a real calendar date'],
    ['birth_date', '1990-1-1', 'must be a date in the form YYYY-MM-DD'],
    ['github_link', 'javascript:alert(1)', 'must be a link to github.com'],
    ['github_link', 'https://githüb.com/octocat', 'must be a link to github.com'],
    ['github_link', 'https://gist.github.com/octocat', 'must be a link to github.com'],
    ['github_link', 'https://github.com@evil.com/octocat', 'must be a link such as https://github.com/<user>'],
    ['github_link', 'https://github.com/octocat/repo',
      'must be a link to a GitHub user, such as https://github.com/<user>'],
    ['thumbnail', thumbnailOf(OTHER_USER), 'must be the URL of a thumbnail you uploaded'],
    ['thumbnail', 'javascript:alert(1)', 'must be the URL of a thumbnail you uploaded'],
    ['thumbnail', 'https://evil.example/tessera/thumbnails/x.png', 'must be the URL of a thumbnail you uploaded']
  ])('refuses %s %j with 422 and changes nothing', async (field, value, message) => {
    const { id, session } = await signedIn()
    const before = await rowsOf(db().pool, id)

    const response = await http.patch(session, { [field]: value })

    expect([response.statusCode, response.json()]).toEqual([422, {
      error: { [field]: message }, code: 'PROFILE_VALIDATION_FAILED'
    }])
    expect(await rowsOf(db().pool, id)).toEqual(before)
  })

  it('leaves both tables as they were when the transaction fails half-way, and the pool healthy', async () => {
    const { id, session } = await signedIn()
    const pool = db().pool
    const before = await rowsOf(pool, id)
    // A fault only the second statement (user_profile) can hit, after users was updated
    await pool.query(`ALTER TABLE user_profile ADD CONSTRAINT injected_fault
      CHECK (birth_date IS DISTINCT FROM DATE '1999-12-31')`)

    try {
      const response = await http.patch(session, { first_name: 'Half', birth_date: '1999-12-31' })
      expect([response.statusCode, response.json()]).toEqual([500, INTERNAL])
      expect(await rowsOf(pool, id)).toEqual(before)
      expect([pool.waitingCount, pool.idleCount]).toEqual([0, pool.totalCount])
    } finally {
      await pool.query('ALTER TABLE user_profile DROP CONSTRAINT injected_fault')
    }

    const retried = await http.patch(session, { first_name: 'Whole', birth_date: '1999-12-31' })
    expect([retried.statusCode, retried.json().first_name, retried.json().profile.birth_date])
      .toEqual([200, 'Whole', '1999-12-31'])
  })

  it('needs a session before it reads the body', async () => {
    const response = await app().inject({
      method: 'PATCH', url: '/users/update-user/', payload: { is_superuser: true }
    })
    expect([response.statusCode, response.json().code]).toEqual([401, 'SESSION_REQUIRED'])
  })

  describe('with PHONE_REGION', () => {
    const regional = useTestApp(() => buildApp(testConfig(db().connectionString, {
      PHONE_REGION: 'US', MIGRATE_ON_START: 'false'
    }), { pool: db().pool }))
    const local = driver(regional)

    it('reads a number without a country code in that region', async () => {
      const { session } = await local.seededSession(db().pool, 'regional@example.com')

      const response = await local.patch(session, { phone_number: '(650) 253-0000' })
      expect([response.statusCode, response.json().profile.phone_number]).toEqual([200, '+16502530000'])
    })
  })
})
