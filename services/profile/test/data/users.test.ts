import { useTestDatabase } from '@tessera/testing'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runMigrations } from '../../src/data/migrate.js'
import { createUsers, type User, type Users } from '../../src/data/users.js'
import { ProfileErrors } from '../../src/errors.js'

const USER_KEYS = ['id', 'email', 'first_name', 'last_name', 'is_active', 'is_staff', 'is_superuser',
  'thumbnail', 'date_joined', 'profile']
const PROFILE_KEYS = ['id', 'user_id', 'phone_number', 'birth_date', 'github_link']
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
const MISSING_ID = '00000000-0000-4000-8000-000000000000'
const EMPTY_PROFILE = { phone_number: null, birth_date: null, github_link: null }

describe('users repository', () => {
  const db = useTestDatabase()
  let users: Users
  let serial = 0

  beforeAll(async () => {
    await runMigrations({ pool: db().pool })
    users = createUsers(db().pool)
  })

  function register (name = 'Ada'): Promise<User> {
    serial += 1
    const email = `${name}.${serial}@Example.com`
    return users.register({ email, firstName: name, lastName: 'Lovelace', passwordHash: `hash-${serial}` })
  }

  async function rowsOf (id: string) {
    const pool = db().pool
    const user = await pool.query('SELECT * FROM users WHERE id = $1', [id])
    const profile = await pool.query(`SELECT id, user_id, phone_number, github_link,
      to_char(birth_date, 'YYYY-MM-DD') AS birth_date FROM user_profile WHERE user_id = $1`, [id])
    return { user: user.rows, profile: profile.rows }
  }

  it('registers an inactive user with an empty profile, in the contract key order', async () => {
    const before = Date.now()
    const user = await users.register({
      email: 'Grace.Hopper@Example.com', firstName: 'Grace', lastName: 'Hopper', passwordHash: 'argon-hash'
    })

    expect(Object.keys(user)).toEqual(USER_KEYS)
    expect(Object.keys(user.profile)).toEqual(PROFILE_KEYS)
    expect(user).toEqual({
      id: expect.stringMatching(UUID),
      email: 'Grace.Hopper@Example.com',
      first_name: 'Grace',
      last_name: 'Hopper',
      is_active: false,
      is_staff: false,
      is_superuser: false,
      thumbnail: null,
      date_joined: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/),
      profile: { id: expect.stringMatching(UUID), user_id: user.id, ...EMPTY_PROFILE }
    })
    // The database clock and ours may differ a little; a wrong zone would be hours off
    expect(Math.abs(Date.parse(user.date_joined) - before)).toBeLessThan(60_000)

    const rows = await rowsOf(user.id)
    expect(rows.user.map((row) => row.password_hash)).toEqual(['argon-hash'])
    expect(rows.profile).toEqual([{ id: user.profile.id, user_id: user.id, ...EMPTY_PROFILE }])
  })

  it('refuses a second account for the same address in any case: 409, no new rows', async () => {
    await users.register({ email: 'Alan@Example.com', firstName: 'Alan', lastName: 'Turing', passwordHash: 'h1' })

    const second = users.register({
      email: 'alan@EXAMPLE.COM', firstName: 'Not', lastName: 'Alan', passwordHash: 'h2'
    })
    await expect(second).rejects.toBeInstanceOf(ProfileErrors.EmailTaken)
    await expect(second).rejects.toMatchObject({ statusCode: 409, code: 'PROFILE_EMAIL_TAKEN' })

    const { rows } = await db().pool.query(`SELECT u.first_name, count(p.id)::int AS profiles
      FROM users u LEFT JOIN user_profile p ON p.user_id = u.id
      WHERE lower(u.email) = 'alan@example.com' GROUP BY u.first_name`)
    expect(rows).toEqual([{ first_name: 'Alan', profiles: 1 }])
  })

  it('finds by id and by address in any case; nothing for unknown or malformed ids', async () => {
    const user = await register('Finder')

    expect(await users.findById(user.id)).toEqual(user)
    expect(await users.findById(user.id.toUpperCase())).toEqual(user)
    expect(await users.findByEmail(user.email.toUpperCase())).toEqual(user)
    expect(await users.findById(MISSING_ID)).toBeNull()
    expect(await users.findById('not-a-uuid')).toBeNull()
    expect(await users.findById("'; DROP TABLE users; --")).toBeNull()
    expect(await users.findByEmail('nobody@example.com')).toBeNull()
  })

  it('gives the password hash only to the login lookup', async () => {
    const user = await register('Login')

    expect(Object.keys((await users.findById(user.id))!)).not.toContain('password_hash')
    expect(await users.findCredentialsByEmail(user.email.toLowerCase()))
      .toEqual({ user, passwordHash: `hash-${serial}` })
    expect(await users.findCredentialsByEmail('nobody@example.com')).toBeNull()
  })

  it('activates a user and changes a password, 404 for an unknown id', async () => {
    const user = await register('Active')

    expect(await users.activate(user.id)).toEqual({ ...user, is_active: true })
    await users.setPassword(user.id, 'new-hash')
    expect((await users.findCredentialsByEmail(user.email))?.passwordHash).toBe('new-hash')

    await expect(users.activate(MISSING_ID)).rejects.toBeInstanceOf(ProfileErrors.UserNotFound)
    await expect(users.activate('nope')).rejects.toBeInstanceOf(ProfileErrors.UserNotFound)
    await expect(users.setPassword(MISSING_ID, 'x')).rejects.toMatchObject({ statusCode: 404 })
  })

  it('updates both tables, leaves absent fields and clears null ones', async () => {
    const user = await register('Patch')
    const profile = {
      phone_number: '+16502530000', birth_date: '1999-12-31', github_link: 'https://github.com/patricia'
    }

    const full = await users.update(user.id, {
      first_name: 'Patricia', thumbnail: 'http://127.0.0.1:9000/b/x.png', ...profile
    })
    expect(Object.keys(full)).toEqual(USER_KEYS)
    expect(full).toEqual({
      ...user,
      first_name: 'Patricia',
      thumbnail: 'http://127.0.0.1:9000/b/x.png',
      profile: { ...user.profile, ...profile }
    })

    const partial = await users.update(user.id, { last_name: 'Hill', thumbnail: null, birth_date: null })
    expect(partial).toEqual({
      ...full, last_name: 'Hill', thumbnail: null, profile: { ...full.profile, birth_date: null }
    })
    expect(await users.update(user.id, {})).toEqual(partial)
    expect(await users.findById(user.id)).toEqual(partial)
  })

  it('answers 404 for an update of an unknown user', async () => {
    const notFound = ProfileErrors.UserNotFound

    await expect(users.update(MISSING_ID, { first_name: 'X' })).rejects.toBeInstanceOf(notFound)
    await expect(users.update(MISSING_ID, { phone_number: null })).rejects.toBeInstanceOf(notFound)
    await expect(users.update(MISSING_ID, {})).rejects.toBeInstanceOf(notFound)
    await expect(users.update('x', {})).rejects.toBeInstanceOf(notFound)
  })

  describe('all or nothing', () => {
    // One connection: whatever state a failed update left on it, the next query meets it
    let single: pg.Pool
    let singleUsers: Users

    beforeAll(() => {
      single = new pg.Pool({ connectionString: db().connectionString, max: 1 })
      singleUsers = createUsers(single)
    })

    afterAll(async () => {
      await single.end()
    })

    it('rolls back the users change when the profile change fails; the connection stays usable', async () => {
      const user = await singleUsers.update((await register('Atomic')).id, { phone_number: '+16502530000' })
      const before = await rowsOf(user.id)

      // Past the validators, straight to the table's CHECK: by then the users row is updated
      const failing = singleUsers.update(user.id, {
        first_name: 'Changed', thumbnail: null, birth_date: '1899-12-31'
      })
      await expect(failing).rejects.toMatchObject({ code: '23514', constraint: 'user_profile_birth_date_range' })

      expect(await rowsOf(user.id)).toEqual(before)
      expect([single.totalCount, single.idleCount, single.waitingCount]).toEqual([1, 1, 0])

      // Same connection, same prepared statements; committed, so another connection sees it
      const after = await singleUsers.update(user.id, { first_name: 'After', birth_date: '2001-02-03' })
      expect(after.first_name).toBe('After')
      expect((await rowsOf(user.id)).profile[0].birth_date).toBe('2001-02-03')
      const { rows } = await single.query('SELECT now() = statement_timestamp() AS outside')
      expect(rows).toEqual([{ outside: true }])
    })

    it('changes nothing when the first statement fails', async () => {
      const user = await register('First')
      const before = await rowsOf(user.id)
      const link = 'https://github.com/first'

      const failing = singleUsers.update(user.id, { thumbnail: 'x'.repeat(3000), github_link: link })
      await expect(failing).rejects.toMatchObject({ code: '23514', constraint: 'users_thumbnail_length' })

      expect(await rowsOf(user.id)).toEqual(before)
      expect(await singleUsers.update(user.id, { github_link: link }))
        .toMatchObject({ profile: { github_link: link } })
    })
  })

  describe('superusers', () => {
    it('creates an active superuser with a profile', async () => {
      const { user, created } = await users.createSuperuser({
        email: 'Root@Example.com', passwordHash: 'root-hash'
      })

      expect(created).toBe(true)
      expect(user).toMatchObject({
        email: 'Root@Example.com',
        first_name: 'Admin',
        last_name: 'User',
        is_active: true,
        is_staff: true,
        is_superuser: true,
        profile: { user_id: user.id, ...EMPTY_PROFILE }
      })
      expect((await rowsOf(user.id)).profile).toHaveLength(1)
    })

    it('promotes the account of that address, replacing its password, keeping its names', async () => {
      const plain = await register('Promoted')

      const promoted = await users.createSuperuser({ email: plain.email.toLowerCase(), passwordHash: 'fresh' })
      expect(promoted).toEqual({
        created: false, user: { ...plain, is_active: true, is_staff: true, is_superuser: true }
      })
      expect((await users.findCredentialsByEmail(plain.email))?.passwordHash).toBe('fresh')

      const renamed = await users.createSuperuser({ email: plain.email, passwordHash: 'fresh', firstName: 'Prom' })
      expect([renamed.created, renamed.user.id, renamed.user.first_name, renamed.user.last_name])
        .toEqual([false, plain.id, 'Prom', 'Lovelace'])
    })
  })
})
