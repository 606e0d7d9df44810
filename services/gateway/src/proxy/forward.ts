import type { IncomingHttpHeaders, IncomingMessage } from 'node:http'
import { finished, type Readable } from 'node:stream'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { isErrorEnvelope } from '@tessera/http'
import type { Upstream } from '../upstreams.js'
import { DeferredBody } from './deferred-body.js'
import { isConnectionRefused, replacementFor, upstreamFailure } from './failures.js'
import { clientResponseHeaders, upstreamRequestHeaders } from './headers.js'

export interface ForwardOptions {
  upstream: Upstream
  /** For the response headers, and between two chunks of the response body. */
  timeoutMs: number
  /** Bytes of request body forwarded at most; past it the gateway answers 413 itself. */
  bodyLimit: number
  /** Called once per request with the status the exchange ended with and its duration. */
  observe: (upstream: string, status: number, seconds: number) => void
}

// Safe to send twice (RFC 9110 section 9.2.2): only these may move on to another replica.
const idempotent = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE'])

// nginx's code for a client that went away before the response was complete.
const CLIENT_CLOSED = 499

/** What reply-from hands over of an upstream response (undici's, under its type for node:http). */
interface RawResponse {
  statusCode: number
  headers: IncomingHttpHeaders
  stream: Readable
}

interface Exchange {
  /** Names of the headers copied from the upstream response onto the reply. */
  copied: string[]
}

const exchanges = new WeakMap<FastifyRequest, Exchange>()

function hasBody (raw: IncomingMessage): boolean {
  if (raw.method === 'GET' || raw.method === 'HEAD') return false
  const length = raw.headers['content-length']
  return raw.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0')
}

/**
 * Streams the request to a replica of `upstream` and its response back, both ways without buffering.
 * A refused connection moves an idempotent request to the next replica, as long as no byte of its
 * body was taken; every other failure becomes the gateway's 502, 503 or 504. A service's error
 * response passes only as an error envelope, and a client that left gets nothing, logged as 499.
 */
export function forward (request: FastifyRequest, reply: FastifyReply, options: ForwardOptions): void {
  const { upstream, timeoutMs } = options
  const replicas = upstream.order()
  const exchange: Exchange = { copied: [] }
  const startedAt = process.hrtime.bigint()
  exchanges.set(request, exchange)

  const observe = (status: number): void => {
    options.observe(upstream.name, status, Number(process.hrtime.bigint() - startedAt) / 1e9)
  }

  const attempt = (index: number): void => {
    const body = hasBody(request.raw) ? new DeferredBody(request.raw, options.bodyLimit) : undefined
    // reply-from sends `request.body` when it is a stream.
    request.body = body

    // TODO: reply-from parses the target as a WHATWG URL, which percent-encodes the few characters
    // Node accepts raw in a request line (`"`, `<`, `>`, backtick, `{`, `}`): such paths reach the
    // service encoded (same meaning once decoded), not byte for byte.
    reply.from(replicas[index] + request.url, {
      timeout: timeoutMs,
      // reply-from would otherwise retry a GET that got a 503, up to ten times.
      retryDelay: () => null,
      rewriteRequestHeaders: (_request, headers) =>
        upstreamRequestHeaders(request, headers, body !== undefined) as typeof headers,
      rewriteHeaders: (headers) => {
        const out = clientResponseHeaders(headers, reply.getHeader('vary'))
        // Vary keeps the gateway's own entries, so it stays on an error reply too.
        exchange.copied = Object.keys(out).filter((name) => name !== 'vary')
        return out as typeof headers
      },
      onResponse: (_request, _reply, res) => {
        if (res.statusCode >= 400 && request.method !== 'HEAD') {
          sendErrorResponse(reply, res as unknown as RawResponse, observe)
          return
        }

        finished(res.stream, (err) => {
          if (err === undefined || err === null) observe(res.statusCode)
          else if (err.code === 'ERR_STREAM_PREMATURE_CLOSE') observe(CLIENT_CLOSED)
          else observe(upstreamFailure(err).statusCode!)
        })
        reply.send(res.stream)
      },
      onError: (_reply, { error }) => {
        if (clientGone(request)) {
          endForGoneClient(request, reply, upstream.name)
          observe(CLIENT_CLOSED)
          return
        }

        const retry = index + 1 < replicas.length && isConnectionRefused(error) &&
          idempotent.has(request.method) && body?.started !== true
        if (retry) {
          request.log.warn({ upstream: upstream.name, replica: replicas[index] }, 'replica refused connection')
          attempt(index + 1)
          return
        }

        const failure = upstreamFailure(error)
        observe(failure.statusCode!)
        reply.send(failure)
      }
    })
  }

  attempt(0)
}

/** Whether the client closed its connection: nothing can reach it any more. */
function clientGone (request: FastifyRequest): boolean {
  return request.raw.socket.destroyed
}

/**
 * The exchange failed because the client left (mid-upload, say): not a failure of the service,
 * and no response is sent, so it is logged at info with nginx's 499 rather than as a 5xx.
 */
function endForGoneClient (request: FastifyRequest, reply: FastifyReply, upstream: string): void {
  request.log.info({
    operation: request.routeOptions.config.operation,
    method: request.method,
    url: request.url.split('?')[0],
    upstream,
    statusCode: CLIENT_CLOSED,
    responseTime: Math.round(reply.elapsedTime * 1000) / 1000
  }, 'client closed the connection')
  reply.hijack()
}

/** Longest error body of a service that is read to check it is an error envelope. */
const MAX_ERROR_BODY = 64 * 1024

async function readBounded (stream: Readable): Promise<Buffer | undefined> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of stream) {
    size += (chunk as Buffer).length
    if (size > MAX_ERROR_BODY) {
      stream.destroy()
      return undefined
    }
    chunks.push(chunk as Buffer)
  }
  return Buffer.concat(chunks)
}

function isEnvelopeBody (headers: IncomingHttpHeaders, body: Buffer | undefined): boolean {
  const type = (headers['content-type'] ?? '').toLowerCase().replace(/\s/g, '')
  if (body === undefined || type !== 'application/json;charset=utf-8') return false
  try {
    return isErrorEnvelope(JSON.parse(body.toString('utf8')))
  } catch {
    return false
  }
}

/**
 * A 4xx or 5xx of a service passes through only as the error envelope of DESIGN.md; any other
 * body (a framework's default one, a proxy's HTML page) becomes the gateway's envelope for that
 * status. Error bodies are small, so this one is read whole (bounded) before it is sent.
 */
function sendErrorResponse (reply: FastifyReply, res: RawResponse, observe: (status: number) => void): void {
  readBounded(res.stream).then((body) => {
    if (isEnvelopeBody(res.headers, body)) {
      observe(res.statusCode)
      reply.send(body)
      return
    }

    const replacement = replacementFor(res.statusCode)
    observe(replacement.statusCode!)
    reply.send(replacement)
  }, (err: unknown) => {
    const failure = upstreamFailure(err)
    observe(failure.statusCode!)
    reply.send(failure)
  })
}

/**
 * For the error handler of the proxied routes: when the request was being forwarded, removes the
 * headers the upstream response had put on the reply, so an error envelope does not carry its
 * cookies or length, and closes the connection if the client's body was not read to the end.
 * Returns whether the request was being forwarded.
 */
export function abandonExchange (request: FastifyRequest, reply: FastifyReply): boolean {
  const exchange = exchanges.get(request)
  if (exchange === undefined) return false

  for (const name of exchange.copied) {
    reply.removeHeader(name)
    // Fastify copies stream headers onto the raw response before the first byte is written.
    if (!reply.raw.headersSent) reply.raw.removeHeader(name)
  }
  if (!request.raw.complete) reply.header('connection', 'close')
  return true
}
