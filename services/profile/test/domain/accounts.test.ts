import { parseOptions } from '@node-rs/argon2'
import { objectUrl } from '@tessera/media-url'
import { useTestDatabase } from '@tessera/testing'
import { beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { runMigrations } from '../../src/data/migrate.js'
import { createUsers, type Users } from '../../src/data/users.js'
import { createAccounts, type Accounts } from '../../src/domain/accounts.js'
import { createPasswords } from '../../src/domain/passwords.js'
import { createMemoryTokenStore, createTokens } from '../../src/domain/tokens.js'
import { ProfileErrors } from '../../src/errors.js'
import { createMailer } from '../../src/mail/mailer.js'

interface Sent {
  to: string
  subject: string
  text: string
}

const media = { publicUrl: 'http://127.0.0.1:9000/thumbs', keyPrefix: '' }
const FRONTEND = 'http://localhost:5173'
const MISSING_ID = '00000000-0000-4000-8000-000000000000'
const INVALID_CREDENTIALS = { statusCode: 401, message: 'invalid authentication credentials' }
const INVALID_TOKEN = { statusCode: 422, code: 'PROFILE_INVALID_TOKEN' }

describe('accounts', () => {
  const db = useTestDatabase()
  const sent: Sent[] = []
  let users: Users
  let accounts: Accounts

  // The real mailer without SMTP: what it logs is the message
  function build (passwords = createPasswords()): Accounts {
    const log = {
      info (obj: object) {
        const mail = (obj as { mail?: Sent }).mail
        if (mail !== undefined) sent.push(mail)
      },
      warn () {},
      error () {}
    }
    const mailer = createMailer({ from: 'no-reply@tessera.test', frontendUrl: FRONTEND, log, track () {} })
    const tokens = createTokens({ store: createMemoryTokenStore(), secret: 'test secret' })
    return createAccounts({ users, passwords, tokens, mailer, media })
  }

  beforeAll(async () => {
    await runMigrations({ pool: db().pool })
    users = createUsers(db().pool)
    accounts = build()
  })

  beforeEach(() => {
    sent.length = 0
  })

  function lastCode (): string {
    const code = sent.at(-1)?.text.match(/^ {4}(\d{6})$/m)?.[1]
    if (code === undefined) throw new Error('no code was sent')
    return code
  }

  async function registered (email: string, password = 'first password') {
    await accounts.register({ email, first_name: 'Ada', last_name: 'Lovelace', password })
    const user = await users.findByEmail(email.trim())
    return { user: user!, code: lastCode() }
  }

  function login (email: string, password: string) {
    return accounts.login({ email, password })
  }

  it('registers, mails a code with the activation link, and activates with it once', async () => {
    const { user, code } = await registered(' Ada@Example.com ')

    expect(user).toMatchObject({ email: 'Ada@Example.com', first_name: 'Ada', is_active: false })
    expect(sent).toHaveLength(1)
    expect(sent[0]).toMatchObject({ to: 'Ada@Example.com', subject: 'Activate your Tessera account' })
    expect(sent[0]?.text).toContain(`${FRONTEND}/auth/activate/${user.id}\n`)

    const spaced = `${code.slice(0, 3)} ${code.slice(3)}`
    expect(await accounts.activate(user.id, { token: spaced })).toEqual({ ...user, is_active: true })
    await expect(accounts.activate(user.id, { token: code })).rejects.toMatchObject({
      ...INVALID_TOKEN, fields: { token: 'invalid or expired token' }
    })
  })

  it('answers a taken inactive address like a new one: a fresh code, nothing else changed', async () => {
    const { user } = await registered('again@example.com')

    await accounts.register({
      email: 'AGAIN@example.com', first_name: 'Eve', last_name: 'Intruder', password: 'eve password'
    })
    expect(sent.map((mail) => [mail.to, mail.subject])).toEqual([
      ['again@example.com', 'Activate your Tessera account'],
      ['again@example.com', 'Activate your Tessera account']
    ])
    expect(await users.findById(user.id)).toEqual(user)

    await accounts.activate(user.id, { token: lastCode() })
    await expect(login('again@example.com', 'eve password')).rejects.toMatchObject(INVALID_CREDENTIALS)
    expect((await login('again@example.com', 'first password')).id).toBe(user.id)
  })

  it('answers a taken active address with a notice to its owner and no code', async () => {
    const { user, code } = await registered('active@example.com')
    await accounts.activate(user.id, { token: code })
    sent.length = 0

    await accounts.register({
      email: 'active@example.com', first_name: 'X', last_name: 'Y', password: 'some password'
    })
    expect(sent.map((mail) => [mail.to, mail.subject])).toEqual([['active@example.com', 'Your Tessera account']])
    expect(sent[0]?.text).not.toMatch(/\d{6}/)
  })

  it('gives one 401 for an unknown address or a wrong password, 403 only with the right one', async () => {
    const { user, code } = await registered('login@example.com', 'right password')

    await expect(login('nobody@example.com', 'right password')).rejects.toMatchObject(INVALID_CREDENTIALS)
    await expect(login('login@example.com', 'wrong password')).rejects.toMatchObject(INVALID_CREDENTIALS)
    await expect(login('login@example.com', 'right password')).rejects.toBeInstanceOf(ProfileErrors.AccountInactive)

    await accounts.activate(user.id, { token: code })
    expect(await login('LOGIN@example.com', 'right password')).toEqual({ ...user, is_active: true })
  })

  it('rehashes at login when the settings changed', async () => {
    const { user, code } = await registered('rehash@example.com', 'rehash password')
    await accounts.activate(user.id, { token: code })

    const stronger = build(createPasswords({ memoryCost: 23_552, timeCost: 2 }))
    await stronger.login({ email: 'rehash@example.com', password: 'rehash password' })

    const { passwordHash } = (await users.findCredentialsByEmail('rehash@example.com'))!
    expect(parseOptions(passwordHash).memoryCost).toBe(23_552)
    const again = await stronger.login({ email: 'rehash@example.com', password: 'rehash password' })
    expect(again.id).toBe(user.id)
  })

  it('resends an activation code only to an inactive account, silently otherwise', async () => {
    const { user } = await registered('resend@example.com')
    sent.length = 0

    await accounts.regenerateActivation({ email: 'nobody@example.com' })
    expect(sent).toEqual([])
    await accounts.regenerateActivation({ email: 'Resend@Example.com' })
    expect(sent.map((m) => m.to)).toEqual(['resend@example.com'])

    await accounts.activate(user.id, { token: lastCode() })
    await accounts.regenerateActivation({ email: 'resend@example.com' })
    expect(sent).toHaveLength(1)
  })

  it('resets a password with the mailed code, once, activating the account on the way', async () => {
    const { user } = await registered('reset@example.com', 'old password')
    sent.length = 0

    await accounts.requestPasswordReset({ email: 'nobody@example.com' })
    expect(sent).toEqual([])
    await accounts.requestPasswordReset({ email: 'reset@example.com' })
    expect(sent[0]?.subject).toBe('Reset your Tessera password')
    expect(sent[0]?.text).toContain(`${FRONTEND}/auth/password/change/${user.id}\n`)
    const token = lastCode()

    await expect(accounts.resetPassword(user.id, { token, password: 'short' })).rejects.toMatchObject({
      fields: { password: 'must be at least 8 bytes long' }
    })
    expect(await accounts.resetPassword(user.id, { token, password: 'new password' }))
      .toEqual({ ...user, is_active: true })
    await expect(accounts.resetPassword(user.id, { token, password: 'newer password' }))
      .rejects.toMatchObject(INVALID_TOKEN)

    await expect(login('reset@example.com', 'old password')).rejects.toMatchObject(INVALID_CREDENTIALS)
    expect((await login('reset@example.com', 'new password')).id).toBe(user.id)
  })

  it('answers a code for an id that is no user, or no UUID, as an invalid token', async () => {
    for (const id of [MISSING_ID, 'not-a-uuid', '../../etc']) {
      await expect(accounts.activate(id, { token: '123456' })).rejects.toMatchObject(INVALID_TOKEN)
      await expect(accounts.resetPassword(id, { token: '123456', password: 'password!' }))
        .rejects.toMatchObject(INVALID_TOKEN)
    }
  })

  it('updates the profile through the validators, the thumbnail only from this user', async () => {
    const { user } = await registered('patch@example.com')
    const thumbnail = objectUrl(`${user.id}/01HZX3V9Q6M4T8KJ2P0R5S7W9A_me.webp`, media)
    const body = { first_name: ' Augusta ', thumbnail, phone_number: '+44 20 7031 3000' }

    await expect(accounts.update(user.id, { ...body, birth_date: '1815-12-10' })).rejects.toMatchObject({
      fields: { birth_date: 'must not be before 1900-01-01' }
    })
    expect(await users.findById(user.id)).toEqual(user)

    const done = await accounts.update(user.id, { ...body, github_link: 'https://www.github.com/ada/' })
    expect(done).toEqual({
      ...user,
      first_name: 'Augusta',
      thumbnail,
      profile: { ...user.profile, phone_number: '+442070313000', github_link: 'https://github.com/ada' }
    })
    expect(await accounts.currentUser(user.id)).toEqual(done)
    await expect(accounts.update(user.id, { email: 'x@example.com' })).rejects.toMatchObject({ statusCode: 400 })
    await expect(accounts.currentUser(MISSING_ID)).rejects.toMatchObject({ statusCode: 404 })
  })
})
