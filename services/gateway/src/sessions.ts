import type { FastifyInstance } from 'fastify'
import { sessionAuthPlugin, type SessionAuthOptions } from '@tessera/session'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The gateway looks the caller's session up for this route. */
    session?: boolean
  }
}

/**
 * Sessions for the whole app, looked up only on routes marked `config.session`. Everything else is
 * forwarded to a service that checks the session itself, so a lookup here would only double the
 * store's load and turn a store outage into gateway errors on public routes.
 */
export async function registerSessions (app: FastifyInstance, opts: SessionAuthOptions): Promise<void> {
  await app.register(sessionAuthPlugin, {
    ...opts,
    shouldLookUp: (request) => request.routeOptions.config.session === true
  })
}
