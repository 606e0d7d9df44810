import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { HttpErrors } from '@tessera/http'
import { SessionErrors } from '@tessera/session'
import type { Accounts } from '../domain/accounts.js'
import { normaliseEmail } from '../domain/validation.js'
import { ProfileErrors } from '../errors.js'
import type { RateLimiter, RateRule } from '../rate-limit.js'
import { userSchemas as schemas } from '../schemas/users.js'

export interface UserRoutesOptions {
  accounts: Accounts
  limiter: RateLimiter
  limits: Record<'login' | 'register' | 'regenerateToken' | 'requestPasswordChange', RateRule>
}

const messages = {
  registered: 'check your e-mail for the activation code',
  activated: 'your account has been activated',
  regenerated: 'if an inactive account uses this address, a new activation code is on its way',
  loggedOut: 'you have been logged out',
  resetRequested: 'if an account uses this address, a password reset code is on its way',
  passwordChanged: 'your password has been changed; log in with the new one'
}

/** The profile service's routes: DESIGN.md section 4. */
export async function userRoutes (app: FastifyInstance, opts: UserRoutesOptions): Promise<void> {
  const { accounts, limiter, limits } = opts
  const limit = perAddress(limiter)
  const r = app.withTypeProvider<TypeBoxTypeProvider>()

  r.post('/users/register/', {
    config: { operation: 'profile.register' }, schema: schemas.register, preHandler: limit(limits.register)
  }, async (request, reply) => {
    await accounts.register(request.body)
    return reply.code(202).send({ message: messages.registered })
  })

  r.put('/users/activate/:id/', {
    config: { operation: 'profile.activate' }, schema: schemas.activate
  }, async (request) => {
    await accounts.activate(request.params.id, request.body)
    return { message: messages.activated }
  })

  r.post('/users/regenerate-token/', {
    config: { operation: 'profile.regenerate-token' },
    schema: schemas.regenerateToken,
    preHandler: limit(limits.regenerateToken)
  }, async (request, reply) => {
    await accounts.regenerateActivation(request.body)
    return reply.code(202).send({ message: messages.regenerated })
  })

  r.post('/users/login/', {
    config: { operation: 'profile.login' }, schema: schemas.login, preHandler: limit(limits.login)
  }, async (request, reply) => {
    const user = await accounts.login(request.body)

    // Best effort: a counter left behind only shortens the next window of mistakes
    await limiter.reset(limits.login, user.email).catch((err: unknown) => {
      request.log.warn({ err }, 'login attempts could not be cleared')
    })
    await app.sessions.issue(request, reply, {
      userId: user.id, isStaff: user.is_staff, isSuperuser: user.is_superuser
    })
    return user
  })

  r.post('/users/password/request-password-change/', {
    config: { operation: 'profile.request-password-change' },
    schema: schemas.requestPasswordChange,
    preHandler: limit(limits.requestPasswordChange)
  }, async (request, reply) => {
    await accounts.requestPasswordReset(request.body)
    return reply.code(202).send({ message: messages.resetRequested })
  })

  r.put('/users/password/change-user-password/:id/', {
    config: { operation: 'profile.change-password' }, schema: schemas.changePassword
  }, async (request) => {
    const user = await accounts.resetPassword(request.params.id, request.body)

    // By the stored id: the path may spell the UUID in upper case, the session index does not
    await app.sessions.revokeAll(user.id)
    return { message: messages.passwordChanged }
  })

  await r.register(async (authed) => {
    authed.addHook('onRequest', authed.requireSession)

    authed.post('/users/logout/', {
      config: { operation: 'profile.logout' }, schema: schemas.logout
    }, async (request, reply) => {
      await app.sessions.end(request)
      app.sessions.clearCookie(reply)
      return { message: messages.loggedOut }
    })

    authed.get('/users/current-user/', {
      config: { operation: 'profile.current-user' }, schema: schemas.currentUser
    }, async (request) => accounts.currentUser(userIdOf(request)))

    // TODO: a PATCH that replaces or clears the thumbnail leaves the old object in S3; the media
    // service owns deletion and there is no service-to-service call for it yet
    authed.patch('/users/update-user/', {
      config: { operation: 'profile.update' }, schema: schemas.update
    }, async (request) => accounts.update(userIdOf(request), request.body))
  })
}

function userIdOf (request: FastifyRequest): string {
  if (request.session === null) throw new SessionErrors.Required()
  return request.session.userId
}

/**
 * A preHandler counting each request against `rule` for the address in its body. A body without
 * a well-formed address is left to the validators (their 422 sends no mail and checks nothing).
 */
function perAddress (limiter: RateLimiter) {
  return (rule: RateRule) => async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const address = addressIn(request.body)
    if (address === null) return

    let hit
    try {
      hit = await limiter.hit(rule, address)
    } catch (err) {
      request.log.error({ err }, 'rate limit store failed')
      throw new HttpErrors.Unavailable()
    }
    if (hit.allowed) return

    reply.header('retry-after', String(hit.retryAfter))
    throw new ProfileErrors.RateLimited(hit.retryAfter)
  }
}

function addressIn (body: unknown): string | null {
  const email = (body as { email?: unknown } | null | undefined)?.email
  if (typeof email !== 'string') return null

  try {
    return normaliseEmail(email)
  } catch {
    return null
  }
}
