import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import type { FastifyInstance } from 'fastify'

export interface RouteEntry {
  method: string
  url: string
}

/**
 * Runs `build` and returns, for every Fastify instance created meanwhile, every route it
 * registered, as `onRoute` saw them: the hook goes on through Fastify's `fastify.initialization`
 * diagnostics channel, before any plugin, so no route can slip past it.
 */
export async function collectRoutes<T> (
  build: () => Promise<T>
): Promise<{ built: T, routes: Map<FastifyInstance, RouteEntry[]> }> {
  const routes = new Map<FastifyInstance, RouteEntry[]>()
  const onInit = (message: unknown) => {
    const { fastify } = message as { fastify: FastifyInstance }
    const list: RouteEntry[] = []
    routes.set(fastify, list)
    fastify.addHook('onRoute', (route) => {
      for (const method of [route.method].flat()) list.push({ method, url: route.url })
    })
  }

  subscribe('fastify.initialization', onInit)
  try {
    return { built: await build(), routes }
  } finally {
    unsubscribe('fastify.initialization', onInit)
  }
}

/** A path that matches `url`: parameters become a UUID, a wildcard a plain segment. */
export function concretePath (url: string, id: string): string {
  return url.replace(/:[A-Za-z_]+/g, id).replace(/\*$/, 'anything/')
}
