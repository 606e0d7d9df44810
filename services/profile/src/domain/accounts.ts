import type { CountryCode } from 'libphonenumber-js/max'
import type { User, Users } from '../data/users.js'
import { invalidToken, ProfileErrors } from '../errors.js'
import type { Mailer } from '../mail/mailer.js'
import type { Passwords } from './passwords.js'
import type { Tokens } from './tokens.js'
import {
  validateActivation, validateEmailRequest, validateLogin, validatePasswordReset,
  validateRegistration, validateUpdate
} from './validation.js'

export interface AccountsOptions {
  users: Users
  passwords: Passwords
  tokens: Tokens
  mailer: Pick<Mailer, 'sendActivation' | 'sendPasswordReset' | 'sendAccountExists'>
  /** The media service's URL settings, to recognise the thumbnails it issued. */
  media: { publicUrl: string, keyPrefix: string, secret?: string }
  /** Region for phone numbers written without `+`; without one they are refused. */
  phoneRegion?: CountryCode
  now?: () => Date
}

/**
 * What the profile routes do, without HTTP: each takes the request body as parsed JSON (and the
 * path id or session user id), validates it, and returns a value or throws a typed 4xx error.
 * Sessions are the caller's: log in after `login`, and delete all of a user's sessions after
 * `resetPassword`.
 */
export function createAccounts (options: AccountsOptions) {
  const { users, passwords, tokens, mailer, media, phoneRegion } = options
  const now = options.now ?? (() => new Date())

  async function sendActivation (user: User): Promise<void> {
    const code = await tokens.issue('activation', user.id)
    mailer.sendActivation({
      to: user.email, userId: user.id, code, validForSeconds: tokens.lifetime('activation')
    })
  }

  return {
    /**
     * POST /users/register/ (202). A taken address answers the same as a new one: its owner gets a
     * fresh activation code if the account is inactive, or a notice if it is active, and the
     * submitted names and password are dropped.
     */
    async register (body: unknown): Promise<void> {
      const input = validateRegistration(body)
      const passwordHash = await passwords.hash(input.password)

      let user: User
      try {
        user = await users.register({ ...input, passwordHash })
      } catch (err) {
        if (!(err instanceof ProfileErrors.EmailTaken)) throw err
        const existing = await users.findByEmail(input.email)
        if (existing?.is_active === true) mailer.sendAccountExists(existing.email)
        else if (existing !== null) await sendActivation(existing)
        return
      }
      await sendActivation(user)
    },

    /** PUT /users/activate/:id/ (200). */
    async activate (id: string, body: unknown): Promise<User> {
      const { token } = validateActivation(body)
      if (!await tokens.verify('activation', id, token)) throw invalidToken()

      return users.activate(id)
    },

    /** POST /users/regenerate-token/ (202 whatever the address). */
    async regenerateActivation (body: unknown): Promise<void> {
      const { email } = validateEmailRequest(body)
      const user = await users.findByEmail(email)
      if (user !== null && !user.is_active) await sendActivation(user)
    },

    /**
     * POST /users/login/ (200 with the user; the caller then creates the session). An unknown
     * address and a wrong password cost the same argon2 work and get the same 401.
     */
    async login (body: unknown): Promise<User> {
      const { email, password } = validateLogin(body)
      const found = await users.findCredentialsByEmail(email)
      const matches = await passwords.verify(found?.passwordHash ?? null, password)
      if (found === null || !matches) throw new ProfileErrors.InvalidCredentials()
      if (!found.user.is_active) throw new ProfileErrors.AccountInactive()

      if (passwords.needsRehash(found.passwordHash)) {
        await users.setPassword(found.user.id, await passwords.hash(password))
      }
      return found.user
    },

    /** POST /users/password/request-password-change/ (202 whatever the address). */
    async requestPasswordReset (body: unknown): Promise<void> {
      const { email } = validateEmailRequest(body)
      const user = await users.findByEmail(email)
      if (user === null) return

      const code = await tokens.issue('reset', user.id)
      mailer.sendPasswordReset({
        to: user.email, userId: user.id, code, validForSeconds: tokens.lifetime('reset')
      })
    },

    /**
     * PUT /users/password/change-user-password/:id/ (200). The code proves the mailbox, so an
     * inactive account is activated too. The caller must then delete all of this user's sessions.
     */
    async resetPassword (id: string, body: unknown): Promise<User> {
      const { token, password } = validatePasswordReset(body)
      if (!await tokens.verify('reset', id, token)) throw invalidToken()

      await users.setPassword(id, await passwords.hash(password))
      await tokens.revoke('activation', id)
      return users.activate(id)
    },

    /** GET /users/current-user/ (200); 404 when the session outlived its account. */
    async currentUser (userId: string): Promise<User> {
      const user = await users.findById(userId)
      if (user === null) throw new ProfileErrors.UserNotFound()
      return user
    },

    /** PATCH /users/update-user/ (200 with the updated user). */
    async update (userId: string, body: unknown): Promise<User> {
      const patch = validateUpdate(body, { userId, media, phoneRegion, now: now() })
      return users.update(userId, patch)
    }
  }
}

export type Accounts = ReturnType<typeof createAccounts>
