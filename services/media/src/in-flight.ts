import type { FastifyInstance, FastifyReply } from 'fastify'
import fp from 'fastify-plugin'
import { MediaErrors } from './errors.js'

export interface InFlightOptions {
  /** The whole shutdown budget (SHUTDOWN_GRACE_MS); uploads get the first part of it. */
  graceMs: number
}

/**
 * How long shutdown lets uploads run before cutting them off: half the grace, at most 5 s less
 * than it, so that discarding their parts in S3 still fits before the process is made to exit.
 */
export function uploadCutoffMs (graceMs: number): number {
  return graceMs - Math.min(5000, Math.floor(graceMs / 2))
}

function createInFlight () {
  const controllers = new Set<AbortController>()
  let closing = false

  return {
    get closing () {
      return closing
    },

    get size () {
      return controllers.size
    },

    /**
     * A signal for one upload: it aborts when the client goes away before the reply (reason
     * MEDIA_UPLOAD_ABORTED) or when shutdown cuts uploads off (MEDIA_SHUTTING_DOWN). Call the
     * returned `done` once the upload settled.
     */
    track (reply: FastifyReply) {
      const controller = new AbortController()
      const onClose = () => {
        if (!reply.raw.writableFinished) controller.abort(MediaErrors.uploadAborted())
      }

      reply.raw.on('close', onClose)
      controllers.add(controller)
      if (closing) controller.abort(MediaErrors.shuttingDown())

      return {
        signal: controller.signal,
        done: () => {
          reply.raw.off('close', onClose)
          controllers.delete(controller)
        }
      }
    },

    startClosing () {
      closing = true
    },

    abortAll () {
      for (const controller of controllers) controller.abort(MediaErrors.shuttingDown())
    }
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The uploads being received, for shutdown. */
    mediaUploads: ReturnType<typeof createInFlight>
  }
}

async function inFlight (app: FastifyInstance, opts: InFlightOptions): Promise<void> {
  const uploads = createInFlight()
  app.decorate('mediaUploads', uploads)

  let cutoff: NodeJS.Timeout | undefined
  app.addHook('preClose', async () => {
    uploads.startClosing()
    if (uploads.size === 0) return
    app.log.info({ uploads: uploads.size }, 'waiting for uploads to finish')
    cutoff = setTimeout(() => uploads.abortAll(), uploadCutoffMs(opts.graceMs))
  })

  // Replies sent while closing end their connection: Node closes idle connections only once, when
  // the server stops listening, so a kept-alive one would hold close() up until it times out.
  app.addHook('onSend', async (_request, reply) => {
    if (uploads.closing) reply.header('connection', 'close')
  })

  app.addHook('onClose', async () => {
    clearTimeout(cutoff)
  })
}

/** Decorates `app.mediaUploads`; on close, uploads finish within the grace or are cut off. */
export const inFlightUploads = fp(inFlight, { name: 'media-in-flight-uploads', fastify: '5.x' })
