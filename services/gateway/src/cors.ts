import type { FastifyInstance } from 'fastify'
import cors from '@fastify/cors'
import { envelopeErrorHandler } from './client-errors.js'

/**
 * CORS for exactly the listed origins, with credentials; any other origin gets no CORS header at
 * all. Register before httpConventions: its 404/405 router must not learn the catch-all `OPTIONS *`
 * route that @fastify/cors adds for preflights, or every unknown path would be a 405 allowing
 * OPTIONS. That route then predates the root error handler, so it is given the envelope itself.
 */
export async function registerCors (app: FastifyInstance, origins: string[]): Promise<void> {
  const allowed = new Set(origins)

  app.addHook('onRoute', (route) => {
    if (route.method === 'OPTIONS' && route.url === '*') route.errorHandler = envelopeErrorHandler
  })

  await app.register(cors, {
    // A function, not the list: with a list, other origins would still get the credentials header.
    origin: (origin, callback) => callback(null, origin !== undefined && allowed.has(origin) ? origin : false),
    credentials: true,
    methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
    exposedHeaders: ['x-request-id', 'retry-after'],
    // Preflights from an allowed origin are answered even without Access-Control-Request-Method.
    strictPreflight: false
  })
}
