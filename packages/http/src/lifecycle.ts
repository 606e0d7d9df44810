import closeWithGrace from 'close-with-grace'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { createTaskTracker, type TaskTracker } from './tasks.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** Background work that shutdown waits for. */
    tasks: TaskTracker
  }
}

export interface LifecycleOptions {
  /** How long close waits for tracked background tasks, in ms. */
  drainMs?: number
}

async function lifecycle (app: FastifyInstance, opts: LifecycleOptions): Promise<void> {
  const tasks = createTaskTracker()
  app.decorate('tasks', tasks)

  app.addHook('onClose', async () => {
    if (tasks.pending === 0) return
    const drained = await tasks.drain(opts.drainMs ?? 10_000)
    if (!drained) app.log.warn({ pending: tasks.pending }, 'background tasks still running at shutdown')
  })
}

/** Decorates `app.tasks` and makes `app.close()` wait for them, bounded. */
export const taskLifecycle = fp(lifecycle, { name: '@tessera/task-lifecycle', fastify: '5.x' })

export interface ListenOptions {
  host: string
  port: number
  /** Upper bound for the whole shutdown: in-flight requests, then tracked tasks. */
  graceMs: number
  /** Extra clean-up run after the app has closed (other listeners, embedded servers). */
  onClosed?: () => Promise<void>
}

/**
 * Listens and installs signal handlers: on SIGTERM/SIGINT the app stops accepting, finishes in-flight
 * requests and tracked tasks, and the process exits; past `graceMs` it exits anyway with code 1.
 */
export async function listen (app: FastifyInstance, opts: ListenOptions): Promise<string> {
  closeWithGrace({ delay: opts.graceMs, logger: app.log }, async ({ err, signal }) => {
    if (err !== undefined) app.log.error({ err }, 'shutting down after an uncaught error')
    else app.log.info({ signal }, 'shutting down')
    await app.close()
    await opts.onClosed?.()
  })

  return await app.listen({ host: opts.host, port: opts.port })
}
