import type pg from 'pg'
import { ProfileErrors } from '../errors.js'

export interface Profile {
  id: string
  user_id: string
  phone_number: string | null
  /** `YYYY-MM-DD`, never a Date: the same calendar day whatever the server's time zone. */
  birth_date: string | null
  github_link: string | null
}

/** The user as every route returns it; the key order is part of the wire contract. */
export interface User {
  id: string
  email: string
  first_name: string
  last_name: string
  is_active: boolean
  is_staff: boolean
  is_superuser: boolean
  thumbnail: string | null
  /** ISO 8601 in UTC with milliseconds, e.g. `2025-12-03T09:17:00.123Z`. */
  date_joined: string
  profile: Profile
}

/** Already validated and normalised values; an absent key leaves the column as it is. */
export interface UserPatch {
  first_name?: string
  last_name?: string
  thumbnail?: string | null
  phone_number?: string | null
  birth_date?: string | null
  github_link?: string | null
}

export interface NewUser {
  email: string
  firstName: string
  lastName: string
  passwordHash: string
}

export interface SuperuserInput {
  email: string
  passwordHash: string
  /** For a new account (default `Admin`); replaces an existing account's name when given. */
  firstName?: string
  lastName?: string
}

export interface Credentials {
  user: User
  passwordHash: string
}

interface UserRow {
  id: string
  email: string
  first_name: string
  last_name: string
  is_active: boolean
  is_staff: boolean
  is_superuser: boolean
  thumbnail: string | null
  date_joined: string
  profile_id: string
  phone_number: string | null
  birth_date: string | null
  github_link: string | null
}

// Dates are formatted by Postgres so that neither the server's TZ nor node-postgres's Date parsing
// can move a calendar day; to_char ignores DateStyle too.
const USER_COLUMNS = `u.id, u.email, u.first_name, u.last_name, u.is_active, u.is_staff,
  u.is_superuser, u.thumbnail,
  to_char(u.date_joined AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS date_joined,
  p.id AS profile_id, p.phone_number, to_char(p.birth_date, 'YYYY-MM-DD') AS birth_date,
  p.github_link`

const SELECT_USER = `SELECT ${USER_COLUMNS} FROM users u JOIN user_profile p ON p.user_id = u.id`

/** The statement texts, exported so the bench's raw ceiling sends exactly what the service sends. */
export const sql = {
  findById: `${SELECT_USER} WHERE u.id = $1`,
  findByEmail: `${SELECT_USER} WHERE lower(u.email) = lower($1)`,
  findCredentials: `SELECT ${USER_COLUMNS}, u.password_hash
    FROM users u JOIN user_profile p ON p.user_id = u.id WHERE lower(u.email) = lower($1)`,
  register: `WITH u AS (
      INSERT INTO users (email, password_hash, first_name, last_name) VALUES ($1, $2, $3, $4)
      RETURNING *
    ), p AS (
      INSERT INTO user_profile (user_id) SELECT id FROM u RETURNING *
    )
    SELECT ${USER_COLUMNS} FROM u JOIN p ON p.user_id = u.id`,
  activate: `WITH u AS (UPDATE users SET is_active = true WHERE id = $1 RETURNING *)
    SELECT ${USER_COLUMNS} FROM u JOIN user_profile p ON p.user_id = u.id`,
  setPassword: 'UPDATE users SET password_hash = $2 WHERE id = $1',
  // One fixed text per statement keeps it preparable: a flag says whether to set a nullable column
  updateUser: `UPDATE users SET
      first_name = COALESCE($2::text, first_name),
      last_name = COALESCE($3::text, last_name),
      thumbnail = CASE WHEN $4::boolean THEN $5::text ELSE thumbnail END
    WHERE id = $1`,
  updateProfile: `UPDATE user_profile SET
      phone_number = CASE WHEN $2::boolean THEN $3::text ELSE phone_number END,
      birth_date = CASE WHEN $4::boolean THEN $5::date ELSE birth_date END,
      github_link = CASE WHEN $6::boolean THEN $7::text ELSE github_link END
    WHERE user_id = $1`,
  upsertSuperuser: `INSERT INTO users
      (email, password_hash, first_name, last_name, is_active, is_staff, is_superuser)
    VALUES ($1, $2, COALESCE($3::text, 'Admin'), COALESCE($4::text, 'User'), true, true, true)
    ON CONFLICT ((lower(email))) DO UPDATE SET
      password_hash = EXCLUDED.password_hash,
      first_name = COALESCE($3::text, users.first_name),
      last_name = COALESCE($4::text, users.last_name),
      is_active = true, is_staff = true, is_superuser = true
    RETURNING id, (xmax = 0) AS created`,
  ensureProfile: 'INSERT INTO user_profile (user_id) VALUES ($1) ON CONFLICT (user_id) DO NOTHING'
}

const USER_FIELDS = ['first_name', 'last_name', 'thumbnail']
const PROFILE_FIELDS = ['phone_number', 'birth_date', 'github_link']
const UNIQUE_VIOLATION = '23505'
const EMAIL_INDEX = 'users_email_lower_key'
const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

function toUser (row: UserRow): User {
  return {
    id: row.id,
    email: row.email,
    first_name: row.first_name,
    last_name: row.last_name,
    is_active: row.is_active,
    is_staff: row.is_staff,
    is_superuser: row.is_superuser,
    thumbnail: row.thumbnail,
    date_joined: row.date_joined,
    profile: {
      id: row.profile_id,
      user_id: row.id,
      phone_number: row.phone_number,
      birth_date: row.birth_date,
      github_link: row.github_link
    }
  }
}

function isEmailConflict (err: unknown): boolean {
  const pgErr = err as { code?: unknown, constraint?: unknown }
  return pgErr.code === UNIQUE_VIOLATION && pgErr.constraint === EMAIL_INDEX
}

function has (patch: UserPatch, key: string): boolean {
  return Object.hasOwn(patch, key) && patch[key as keyof UserPatch] !== undefined
}

/**
 * Runs `work` inside BEGIN/COMMIT on one pooled connection. Any failure rolls back; a connection
 * whose ROLLBACK fails too is destroyed instead of going back to the pool.
 */
async function inTransaction<T> (
  db: pg.Pool,
  work: (client: pg.PoolClient) => Promise<T>
): Promise<T> {
  const client = await db.connect()
  let broken: Error | undefined

  try {
    await client.query('BEGIN')
    const result = await work(client)
    await client.query('COMMIT')
    return result
  } catch (err) {
    await client.query('ROLLBACK').catch((rollbackErr: Error) => { broken = rollbackErr })
    throw err
  } finally {
    client.release(broken)
  }
}

/** Repository of users and their profiles. Reads return null for an unknown id or address. */
export function createUsers (db: pg.Pool) {
  type Queryable = pg.Pool | pg.PoolClient

  async function one (name: string, text: string, values: unknown[], client: Queryable = db) {
    const { rows } = await client.query<UserRow>({ name, text, values })
    return rows[0] === undefined ? null : toUser(rows[0])
  }

  async function findById (id: string): Promise<User | null> {
    if (!uuidPattern.test(id)) return null
    return one('profile.users.find-by-id', sql.findById, [id])
  }

  async function findByEmail (email: string): Promise<User | null> {
    return one('profile.users.find-by-email', sql.findByEmail, [email])
  }

  /** For login only: the user with its password hash. */
  async function findCredentialsByEmail (email: string): Promise<Credentials | null> {
    const { rows } = await db.query<UserRow & { password_hash: string }>({
      name: 'profile.users.find-credentials', text: sql.findCredentials, values: [email]
    })
    const row = rows[0]
    return row === undefined ? null : { user: toUser(row), passwordHash: row.password_hash }
  }

  /** Creates an inactive user and its empty profile in one statement; a taken address is a 409. */
  async function register (input: NewUser): Promise<User> {
    const values = [input.email, input.passwordHash, input.firstName, input.lastName]
    try {
      const user = await one('profile.users.register', sql.register, values)
      if (user === null) throw new Error('registration returned no row')
      return user
    } catch (err) {
      if (isEmailConflict(err)) throw new ProfileErrors.EmailTaken()
      throw err
    }
  }

  async function activate (id: string): Promise<User> {
    if (!uuidPattern.test(id)) throw new ProfileErrors.UserNotFound()

    const user = await one('profile.users.activate', sql.activate, [id])
    if (user === null) throw new ProfileErrors.UserNotFound()
    return user
  }

  async function setPassword (id: string, passwordHash: string): Promise<void> {
    if (!uuidPattern.test(id)) throw new ProfileErrors.UserNotFound()

    const { rowCount } = await db.query({
      name: 'profile.users.set-password', text: sql.setPassword, values: [id, passwordHash]
    })
    if (rowCount !== 1) throw new ProfileErrors.UserNotFound()
  }

  /** Applies a validated patch to users and user_profile in one transaction: all of it or none. */
  async function update (id: string, patch: UserPatch): Promise<User> {
    if (!uuidPattern.test(id)) throw new ProfileErrors.UserNotFound()

    const touchesUser = USER_FIELDS.some((key) => has(patch, key))
    const touchesProfile = PROFILE_FIELDS.some((key) => has(patch, key))
    if (!touchesUser && !touchesProfile) {
      const user = await findById(id)
      if (user === null) throw new ProfileErrors.UserNotFound()
      return user
    }

    return inTransaction(db, async (client) => {
      if (touchesUser) {
        const { rowCount } = await client.query({
          name: 'profile.users.update-user',
          text: sql.updateUser,
          values: [id, patch.first_name ?? null, patch.last_name ?? null,
            has(patch, 'thumbnail'), patch.thumbnail ?? null]
        })
        if (rowCount !== 1) throw new ProfileErrors.UserNotFound()
      }

      if (touchesProfile) {
        const { rowCount } = await client.query({
          name: 'profile.users.update-profile',
          text: sql.updateProfile,
          values: [id, has(patch, 'phone_number'), patch.phone_number ?? null,
            has(patch, 'birth_date'), patch.birth_date ?? null,
            has(patch, 'github_link'), patch.github_link ?? null]
        })
        if (rowCount !== 1) throw new ProfileErrors.UserNotFound()
      }

      const user = await one('profile.users.find-by-id', sql.findById, [id], client)
      if (user === null) throw new ProfileErrors.UserNotFound()
      return user
    })
  }

  /**
   * Creates an active superuser, or makes the existing account with this address (compared
   * case-insensitively) an active superuser with the given password. Sessions are not touched.
   */
  async function createSuperuser (input: SuperuserInput) {
    return inTransaction(db, async (client) => {
      const { rows } = await client.query<{ id: string, created: boolean }>(sql.upsertSuperuser, [
        input.email, input.passwordHash, input.firstName ?? null, input.lastName ?? null
      ])
      const row = rows[0]
      if (row === undefined) throw new Error('superuser upsert returned no row')

      await client.query(sql.ensureProfile, [row.id])
      const user = await one('profile.users.find-by-id', sql.findById, [row.id], client)
      if (user === null) throw new Error('superuser vanished inside its own transaction')
      return { user, created: row.created }
    })
  }

  return {
    findById,
    findByEmail,
    findCredentialsByEmail,
    register,
    activate,
    setPassword,
    update,
    createSuperuser
  }
}

export type Users = ReturnType<typeof createUsers>
