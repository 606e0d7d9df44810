import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { Type } from '@sinclair/typebox'

export type HealthCheck = () => Promise<unknown>

export interface HealthOptions {
  /** Named dependency checks for /readyz; each rejects or times out when the part is down. */
  checks: Record<string, HealthCheck>
  timeoutMs?: number
}

const ReadySchema = Type.Object({
  status: Type.String(),
  checks: Type.Record(Type.String(), Type.String())
})

async function withTimeout (check: HealthCheck, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error('timed out')), ms)
  })
  try {
    await Promise.race([check(), timeout])
  } finally {
    clearTimeout(timer)
  }
}

async function health (app: FastifyInstance, opts: HealthOptions): Promise<void> {
  const timeoutMs = opts.timeoutMs ?? 2000

  app.get('/livez', {
    config: { operation: 'health.live' },
    schema: { hide: true, response: { 200: Type.Object({ status: Type.String() }) } }
  }, async () => ({ status: 'ok' }))

  app.get('/readyz', {
    config: { operation: 'health.ready' },
    schema: { hide: true, response: { 200: ReadySchema, 503: ReadySchema } }
  }, async (request, reply) => {
    const results: Record<string, string> = {}
    await Promise.all(Object.entries(opts.checks).map(async ([name, check]) => {
      try {
        await withTimeout(check, timeoutMs)
        results[name] = 'ok'
      } catch (err) {
        request.log.warn({ err, dependency: name }, 'readiness check failed')
        results[name] = 'unavailable'
      }
    }))

    const ready = Object.values(results).every((r) => r === 'ok')
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'unavailable', checks: results })
  })
}

/** `/livez` (the process answers) and `/readyz` (its own dependencies answer). */
export const healthRoutes = fp(health, { name: '@tessera/health', fastify: '5.x' })
