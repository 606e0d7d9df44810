import { randomBytes } from 'node:crypto'
import { hash } from '@node-rs/argon2'
import pg from 'pg'

// The library's Algorithm enum is a const enum, which isolatedModules cannot read.
const ARGON2ID = 2

export interface Argon2Settings {
  memoryCost: number
  timeCost: number
  parallelism: number
}

export interface Account {
  id: string
  email: string
  password: string
}

export interface SignedIn extends Account {
  /** `sessionid=<id>`, for a Cookie header. */
  cookie: string
}

/** An argon2id hash made with the profile service's own settings. */
export async function hashPassword (password: string, settings: Argon2Settings): Promise<string> {
  return await hash(password, { ...settings, algorithm: ARGON2ID })
}

/**
 * Active accounts with empty profiles, written straight into the database the profile service
 * migrated: registering through the API would need the e-mailed code. All share one password (and
 * so one hash), which costs one argon2 run instead of `count`.
 */
export async function createAccounts (
  databaseUrl: string,
  count: number,
  settings: Argon2Settings
): Promise<Account[]> {
  const password = randomBytes(12).toString('base64url')
  const passwordHash = await hashPassword(password, settings)
  const tag = randomBytes(4).toString('hex')
  const client = new pg.Client({ connectionString: databaseUrl })
  await client.connect()

  try {
    const { rows } = await client.query<{ id: string, email: string }>(`
      WITH u AS (
        INSERT INTO users (email, password_hash, first_name, last_name, is_active)
        SELECT 'bench-' || $3 || '-' || n || '@bench.test', $1, 'Bench', 'User ' || n, true
        FROM generate_series(1, $2::int) AS n
        RETURNING id, email
      ), p AS (INSERT INTO user_profile (user_id) SELECT id FROM u)
      SELECT id, email FROM u ORDER BY email`, [passwordHash, count, tag])
    return rows.map((row) => ({ ...row, password }))
  } finally {
    await client.end()
  }
}

/** Logs in through `baseUrl` (a service or the gateway) and returns the session cookie. */
export async function logIn (baseUrl: string, account: Account): Promise<SignedIn> {
  const response = await fetch(`${baseUrl}/users/login/`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: account.email, password: account.password })
  })
  const text = await response.text()
  if (response.status !== 200) {
    throw new Error(`login of ${account.email} answered ${response.status}: ${text}`)
  }

  const cookie = response.headers.get('set-cookie')?.split(';')[0]
  if (cookie?.startsWith('sessionid=') !== true) throw new Error('login sent no session cookie')
  return { ...account, cookie }
}

/** Logs every account in, a few at a time. */
export async function logInAll (baseUrl: string, accounts: Account[], parallel = 4) {
  const signedIn: SignedIn[] = new Array(accounts.length)
  let next = 0

  await Promise.all(Array.from({ length: parallel }, async () => {
    while (next < accounts.length) {
      const index = next++
      signedIn[index] = await logIn(baseUrl, accounts[index]!)
    }
  }))
  return signedIn
}
