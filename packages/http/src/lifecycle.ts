import type { Socket } from 'node:net'
import closeWithGrace from 'close-with-grace'
import type { FastifyInstance, FastifyRequest } from 'fastify'
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

/** How long a connection that closes after its reply goes on reading a body still arriving. */
const LINGER_MS = 5000

/**
 * Node ends a connection that is to close right after the reply and closes its socket at once.
 * Bytes the peer is still sending (the rest of a body the reply refused) then meet a reset, and a
 * peer that is still writing, such as the gateway forwarding that body, can lose the reply with
 * it. Such a connection is half-closed instead and goes on reading, and dropping, for a while, as
 * nginx's lingering close does.
 */
function lingerAfterReply (request: FastifyRequest): void {
  const raw = request.raw
  const socket = raw.socket as Socket & { lingers?: true }
  if (raw.complete || socket.lingers === true) return

  socket.lingers = true
  // Node calls this once the reply of a closing connection is written (net.Socket#destroySoon).
  socket.destroySoon = function lingeringClose (this: Socket) {
    if (this.writable) this.end()
    const timer = setTimeout(() => this.destroy(), LINGER_MS).unref()
    this.once('close', () => clearTimeout(timer))
    raw.resume()
  }
}

async function lifecycle (app: FastifyInstance, opts: LifecycleOptions): Promise<void> {
  const tasks = createTaskTracker()
  app.decorate('tasks', tasks)

  // Node closes idle keep-alive connections once, when close() starts. A connection whose request
  // was still in flight would stay open after its reply and hold close() up until the grace ran
  // out, so replies sent while closing end their connection.
  let closing = false
  app.addHook('preClose', async () => { closing = true })
  app.addHook('onSend', async (request, reply) => {
    if (closing) reply.header('connection', 'close')
    lingerAfterReply(request)
  })

  app.addHook('onClose', async () => {
    if (tasks.pending === 0) return
    const drained = await tasks.drain(opts.drainMs ?? 10_000)
    if (!drained) app.log.warn({ pending: tasks.pending }, 'background tasks still running at shutdown')
  })
}

/**
 * Decorates `app.tasks` and makes `app.close()` wait for them, bounded; replies sent while closing
 * carry `Connection: close`, and a connection closing while a body still arrives lingers.
 */
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
