import { useTestDatabase } from '@tessera/testing'
import { describe, expect, it } from 'vitest'
import { createSuperuser, findUserByEmail } from '../src/superuser.js'
import { TEST_ARGON2 } from './helpers/app.js'

describe('@tessera/profile/superuser', () => {
  const db = useTestDatabase()

  it('finds no one in a database that was never migrated, then the superuser it created', async () => {
    expect(await findUserByEmail(db().pool, 'admin@tessera.local')).toBeNull()

    const { user } = await createSuperuser({
      pool: db().pool, email: 'admin@tessera.local', password: 'admin password', argon2: TEST_ARGON2
    })
    expect(await findUserByEmail(db().pool, ' Admin@Tessera.local ')).toEqual(user)
    expect(await findUserByEmail(db().pool, 'someone@tessera.local')).toBeNull()
  })
})
