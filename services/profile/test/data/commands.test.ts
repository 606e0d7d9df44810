import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { ValidationFailedError } from '@tessera/http'
import { useTestDatabase } from '@tessera/testing'
import { describe, expect, it } from 'vitest'
import { createSuperuser } from '../../src/commands/superuser.js'
import { createUsers } from '../../src/data/users.js'
import { createPasswords } from '../../src/domain/passwords.js'

const PACKAGE_DIR = fileURLToPath(new URL('../..', import.meta.url))

interface Outcome {
  code: number
  stdout: string
  stderr: string
}

const SUPERUSER = 'src/commands/create-superuser.ts'

async function command (
  script: string,
  args: string[],
  env: Record<string, string | undefined>
): Promise<Outcome> {
  const childEnv = { ...process.env, ADMIN_EMAIL: undefined, ADMIN_PASSWORD: undefined, ...env }
  const argv = ['--import', 'tsx', script, ...args]
  try {
    const run = promisify(execFile)
    const { stdout, stderr } = await run(process.execPath, argv, { cwd: PACKAGE_DIR, env: childEnv })
    return { code: 0, stdout, stderr }
  } catch (err) {
    const failure = err as { code: number, stdout: string, stderr: string }
    return { code: failure.code, stdout: failure.stdout, stderr: failure.stderr }
  }
}

describe('create-superuser', () => {
  const db = useTestDatabase()

  it('validates before touching the database', async () => {
    const attempt = createSuperuser({ pool: db().pool, email: 'not an address', password: 'short' })

    await expect(attempt).rejects.toBeInstanceOf(ValidationFailedError)
    await expect(attempt).rejects.toMatchObject({
      fields: { email: 'must be a valid email address', password: 'must be at least 8 bytes long' }
    })
    const { rows } = await db().pool.query("SELECT to_regclass('users') AS users")
    expect(rows).toEqual([{ users: null }])
  })

  it('migrates, creates an active superuser whose password verifies, then updates it', async () => {
    const pool = db().pool
    const first = await createSuperuser({ pool, email: ' Boss@Example.com ', password: 'first password' })

    expect(first.created).toBe(true)
    expect(first.user).toMatchObject({
      email: 'Boss@Example.com', is_active: true, is_staff: true, is_superuser: true
    })

    const second = await createSuperuser({ pool, email: 'boss@example.com', password: 'second password' })
    expect([second.created, second.user.id]).toEqual([false, first.user.id])

    const credentials = await createUsers(db().pool).findCredentialsByEmail('BOSS@example.com')
    const passwords = createPasswords()
    expect(await passwords.verify(credentials!.passwordHash, 'second password')).toBe(true)
    expect(await passwords.verify(credentials!.passwordHash, 'first password')).toBe(false)
  })

  it('as a command, prints one line and takes flags or the environment', async () => {
    const env = { DATABASE_URL: db().connectionString }

    const flags = ['--email', 'cli@example.com', '--password', 'cli password', '--first-name', 'Cli']
    const byFlags = await command(SUPERUSER, flags, env)
    expect(byFlags.code).toBe(0)
    expect(byFlags.stdout).toMatch(/^create-superuser: created superuser cli@example\.com \([0-9a-f-]{36}\)\n$/)

    const byEnv = await command(SUPERUSER, [],
      { ...env, ADMIN_EMAIL: 'CLI@example.com', ADMIN_PASSWORD: 'other password' })
    expect(byEnv.code).toBe(0)
    expect(byEnv.stdout).toMatch(/^create-superuser: updated superuser cli@example\.com \(/)
  })

  it('as a command, exits non-zero with a clear message on bad input', async () => {
    const env = { DATABASE_URL: db().connectionString }

    expect(await command(SUPERUSER, ['--email', 'x@', '--password', '1234567'], env)).toEqual({
      code: 2,
      stdout: '',
      stderr: 'create-superuser: email must be a valid email address; ' +
        'password must be at least 8 bytes long\n'
    })
    expect(await command(SUPERUSER, [], env)).toEqual({
      code: 2,
      stdout: '',
      stderr: 'create-superuser: email must be provided; password must be provided\n'
    })

    const unknown = await command(SUPERUSER, ['--admin'], env)
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toMatch(/^create-superuser: Unknown option '--admin'/)

    const noDatabase = await command(SUPERUSER, ['--email', 'a@example.com'], { DATABASE_URL: '' })
    expect([noDatabase.code, noDatabase.stderr]).toEqual([2, 'create-superuser: DATABASE_URL is not set\n'])
  })
})

describe('migrate command', () => {
  const db = useTestDatabase()

  it('applies, then reports the database up to date', async () => {
    const env = { DATABASE_URL: db().connectionString }

    expect(await command('src/commands/migrate.ts', [], env)).toEqual({
      code: 0, stdout: 'migrate: applied 1764748800000_create-users\n', stderr: ''
    })
    expect(await command('src/commands/migrate.ts', [], env)).toEqual({
      code: 0, stdout: 'migrate: the database is up to date\n', stderr: ''
    })
    expect(await command('src/commands/migrate.ts', [], { DATABASE_URL: '' })).toMatchObject({
      code: 2, stderr: 'migrate: DATABASE_URL is not set\n'
    })
  })
})
