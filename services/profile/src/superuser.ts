import type pg from 'pg'
import { createUsers, type User } from './data/users.js'

export { createSuperuser, type CreateSuperuserOptions } from './commands/superuser.js'

const UNDEFINED_TABLE = '42P01'

/**
 * The user with this address (compared case-insensitively), or null. A database that has not been
 * migrated yet holds no users, so a missing table is null too.
 */
export async function findUserByEmail (pool: pg.Pool, email: string): Promise<User | null> {
  try {
    return await createUsers(pool).findByEmail(email.trim())
  } catch (err) {
    if ((err as { code?: unknown }).code === UNDEFINED_TABLE) return null
    throw err
  }
}
