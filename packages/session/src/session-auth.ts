import fastifyCookie from '@fastify/cookie'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { clearedSessionCookie, sessionCookie, sessionIdsIn } from './cookie.js'
import { SessionErrors } from './errors.js'
import { isWellFormedId, type SessionStore } from './store.js'

export interface Session {
  /** The cookie value; never logged. */
  id: string
  userId: string
  isStaff: boolean
  isSuperuser: boolean
  createdAt: string
}

export interface SessionEvents {
  created?: () => void
  destroyed?: (count: number) => void
}

export interface SessionAuthOptions {
  store: SessionStore
  ttlSeconds: number
  cookieSecure: boolean
  events?: SessionEvents
  /**
   * Which requests look their session up (default: all). A proxy that only forwards most requests
   * to services checking the session themselves need not load the store for them.
   */
  shouldLookUp?: (request: FastifyRequest) => boolean
}

export interface NewSession {
  userId: string
  isStaff: boolean
  isSuperuser: boolean
}

function createSessions (store: SessionStore, opts: SessionAuthOptions) {
  const events = opts.events ?? {}

  return {
    store,

    /** Starts a session, replacing the one the request came with (no fixation), and sets the cookie. */
    async issue (request: FastifyRequest, reply: FastifyReply, user: NewSession): Promise<string> {
      if (request.session !== null) await this.end(request)
      const id = await store.create({ user_id: user.userId, is_staff: user.isStaff, is_superuser: user.isSuperuser })
      events.created?.()
      reply.header('set-cookie', sessionCookie(id, { maxAge: opts.ttlSeconds, secure: opts.cookieSecure }))
      return id
    },

    /** Ends the request's own session, if any. */
    async end (request: FastifyRequest): Promise<void> {
      if (request.session === null) return
      if (await store.destroy(request.session.id)) events.destroyed?.(1)
      request.session = null
    },

    clearCookie (reply: FastifyReply): void {
      reply.header('set-cookie', clearedSessionCookie(opts.cookieSecure))
    },

    /** Revokes every session of a user (password change or reset). */
    async revokeAll (userId: string): Promise<number> {
      const count = await store.destroyAllForUser(userId)
      if (count > 0) events.destroyed?.(count)
      return count
    }
  }
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The caller's session, or null when anonymous or the cookie is not a live session. */
    session: Session | null
  }
  interface FastifyInstance {
    sessions: ReturnType<typeof createSessions>
    /** onRequest/preHandler hook for a scope whose routes all need a session: 401 otherwise. */
    requireSession: (request: FastifyRequest) => Promise<void>
  }
}

async function sessionAuth (app: FastifyInstance, opts: SessionAuthOptions): Promise<void> {
  if (!app.hasDecorator('parseCookie')) await app.register(fastifyCookie)

  app.decorateRequest('session', null)
  app.decorate('sessions', createSessions(opts.store, opts))
  app.decorate('requireSession', async (request: FastifyRequest) => {
    if (request.session === null) throw new SessionErrors.Required()
  })

  app.addHook('onRequest', async (request) => {
    if (opts.shouldLookUp !== undefined && !opts.shouldLookUp(request)) return
    const ids = sessionIdsIn(request.headers.cookie)
    if (ids.length !== 1 || !isWellFormedId(ids[0])) return

    const id = ids[0]
    let data
    try {
      data = await opts.store.get(id)
    } catch (err) {
      request.log.error({ err }, 'session store lookup failed')
      throw new SessionErrors.StoreUnavailable()
    }
    if (data === null) return

    request.session = {
      id,
      userId: data.user_id,
      isStaff: data.is_staff,
      isSuperuser: data.is_superuser,
      createdAt: data.created_at
    }
    request.log = request.log.child({ userId: data.user_id })
  })
}

/**
 * Cookie sessions for the whole app: decorates `request.session`, `app.sessions` and
 * `app.requireSession`. Anonymous requests never touch the store.
 */
export const sessionAuthPlugin = fp(sessionAuth, {
  name: '@tessera/session-auth',
  fastify: '5.x'
})
