import type { Socket } from 'node:net'
import { buildConnector } from 'undici'

type WriteCallback = (error?: Error | null) => void
type WritableSocket = Socket & {
  _write: (chunk: unknown, encoding: BufferEncoding, callback: WriteCallback) => void
  _writev?: (chunks: unknown[], callback: WriteCallback) => void
}

// Write errors that say the peer is gone for writing; what it sent before is still to be read.
const peerClosed = new Set(['EPIPE', 'ECONNRESET'])

/** How long a socket whose write failed goes on reading for a response already sent. */
const READ_ON_MS = 2000

/**
 * A service may answer before it has read the whole body (a 413, a 401) and then close its
 * connection. The next write of the body then fails with EPIPE, and undici would destroy the
 * socket with the response still unread in it (nodejs/node#12339). Here such a write is never
 * acknowledged instead: undici stops writing and goes on reading, so it finds the response, or
 * the end or reset of the connection, and fails the request only then.
 */
function readOnAfterWriteFailure (socket: WritableSocket): void {
  let timer: NodeJS.Timeout | undefined
  socket.once('close', () => clearTimeout(timer))

  const guard = (callback: WriteCallback): WriteCallback => (error) => {
    const code = (error as NodeJS.ErrnoException | null | undefined)?.code
    if (code === undefined || !peerClosed.has(code)) return callback(error)
    timer ??= setTimeout(() => socket.destroy(error!), READ_ON_MS).unref()
  }

  const write = socket._write
  socket._write = function (chunk, encoding, callback) {
    write.call(this, chunk, encoding, guard(callback))
  }
  const writev = socket._writev
  if (writev !== undefined) {
    socket._writev = function (chunks, callback) {
      writev.call(this, chunks, guard(callback))
    }
  }
}

/** undici's connector, with sockets that still deliver a response sent before the body was read. */
export function upstreamConnector (options: buildConnector.BuildOptions): buildConnector.connector {
  const connect = buildConnector(options)
  return (opts, callback) => {
    connect(opts, (...args) => {
      if (args[0] === null) readOnAfterWriteFailure(args[1] as WritableSocket)
      callback(...args)
    })
  }
}
