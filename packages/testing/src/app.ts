import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll } from 'vitest'

// Any Fastify instance, whatever its server, logger and type provider
export type AnyFastifyInstance = FastifyInstance<any, any, any, any, any>

export interface TestAppOptions {
  /** Also listen on an ephemeral port of 127.0.0.1, for tests over real sockets. */
  listen?: boolean
}

/**
 * Builds an app in `beforeAll` (awaiting `ready()`, or `listen()` with `{ listen: true }`) and
 * closes it in `afterAll`. Returns an accessor, usable from tests and later hooks.
 */
export function useTestApp<T extends AnyFastifyInstance> (
  build: () => T | Promise<T>,
  options: TestAppOptions = {}
): () => T {
  let app: T | undefined

  beforeAll(async () => {
    const built = await build()
    // Set before ready() so that afterAll closes an app whose plugins failed to load
    app = built

    if (options.listen) {
      await built.listen({ port: 0, host: '127.0.0.1' })
    } else {
      await built.ready()
    }
  })

  afterAll(async () => {
    await app?.close()
  })

  return () => {
    if (!app) throw new Error('The test app exists only once beforeAll has run')
    return app
  }
}

/** The base URL (`http://127.0.0.1:<port>`) of an app that listens. */
export function appUrl (app: AnyFastifyInstance): string {
  const address = app.server.address()
  if (!address || typeof address === 'string') throw new Error('The app does not listen on a TCP port')

  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address
  return `http://${host}:${address.port}`
}
