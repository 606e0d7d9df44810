import type { FastifyRequest } from 'fastify'
import { SessionErrors } from '@tessera/session'
import { GuardErrors } from './errors.js'

/**
 * onRequest hook for a scope of superuser-only routes: 401 without a session, 403 with one that is
 * not a superuser. It throws, so the handler never runs and the root error handler writes the reply.
 */
export async function requireSuperuser (request: FastifyRequest): Promise<void> {
  if (request.session === null) throw new SessionErrors.Required()
  if (!request.session.isSuperuser) throw new GuardErrors.Forbidden()
}
