import pg from 'pg'
import { runMigrations } from '../data/migrate.js'
import { createUsers, type User } from '../data/users.js'
import { createPasswords, type Argon2Settings } from '../domain/passwords.js'
import { validateSuperuser } from '../domain/validation.js'

export interface CreateSuperuserOptions {
  /** An existing pool (the embedded stack's); otherwise `databaseUrl` is used and closed again. */
  pool?: pg.Pool
  databaseUrl?: string
  email: unknown
  password: unknown
  firstName?: unknown
  lastName?: unknown
  argon2?: Argon2Settings
}

/**
 * Migrates, then creates an active superuser or promotes the account that has this address.
 * Bad input throws the profile 422 (`ValidationFailedError`) before anything is touched.
 */
export async function createSuperuser (
  options: CreateSuperuserOptions
): Promise<{ user: User, created: boolean }> {
  const input = validateSuperuser(options)
  if (options.pool === undefined && !options.databaseUrl) {
    throw new TypeError('createSuperuser needs a pool or a database URL')
  }

  const pool = options.pool ?? new pg.Pool({ connectionString: options.databaseUrl, max: 1 })
  try {
    await runMigrations({ pool })
    // TODO: sessions of an existing account survive the password replaced here; the command has
    // no session store, so a promoted user's old sessions keep their old password and flags
    const passwordHash = await createPasswords(options.argon2).hash(input.password)
    return await createUsers(pool).createSuperuser({
      email: input.email, passwordHash, firstName: input.firstName, lastName: input.lastName
    })
  } finally {
    if (options.pool === undefined) await pool.end()
  }
}
