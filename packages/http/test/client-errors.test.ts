import { connect } from 'node:net'
import createError from '@fastify/error'
import Fastify, { type FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { httpConventions, serverOptions } from '../src/index.js'

const JSON_TYPE = 'application/json; charset=utf-8'

interface RawResponse {
  status: number
  headers: Record<string, string>
  body: string
  closed: boolean
}

let app: FastifyInstance
let port: number

beforeAll(async () => {
  app = Fastify(serverOptions({ level: 'silent', service: 'test', logger: false, requestTimeoutMs: 1000 }))
  await app.register(httpConventions)
  app.get('/livez', async () => ({ status: 'ok' }))
  app.put('/things/:id/', async () => ({ ok: true }))
  app.post('/things/', async (request) => ({ got: request.body }))
  app.get('/plugin/', async () => {
    throw new (createError('FST_SOME_PLUGIN', 'the plugin says no', 409))()
  })
  await app.listen({ host: '127.0.0.1', port: 0 })
  port = (app.server.address() as { port: number }).port
})

afterAll(async () => { await app.close() })

/** Writes `head` (and then nothing more) and reads what comes back, up to `waitMs`. */
async function raw (head: string, waitMs = 5000): Promise<RawResponse> {
  const socket = connect({ host: '127.0.0.1', port })
  const chunks: Buffer[] = []
  socket.on('data', (chunk: Buffer) => chunks.push(chunk))

  const closed = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), waitMs)
    socket.once('close', () => { clearTimeout(timer); resolve(true) })
    socket.once('error', () => {})
    socket.write(head)
  })
  socket.destroy()

  const text = Buffer.concat(chunks).toString('latin1')
  const end = text.indexOf('\r\n\r\n')
  const [statusLine = '', ...lines] = text.slice(0, end).split('\r\n')
  const headers: Record<string, string> = {}
  for (const line of lines) {
    const colon = line.indexOf(':')
    headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim()
  }
  return { status: Number(statusLine.split(' ')[1]), headers, body: text.slice(end + 4), closed }
}

const answer = (response: RawResponse) => ({
  status: response.status,
  type: response.headers['content-type'],
  body: JSON.parse(response.body) as unknown
})

describe('requests Node or the router refuse', () => {
  it('a method Node cannot parse is a 400 envelope, not Fastify\'s default body', async () => {
    const response = await raw('FOO /livez HTTP/1.1\r\nHost: a\r\n\r\n')

    expect(answer(response)).toEqual({
      status: 400, type: JSON_TYPE, body: { error: 'the request is malformed', code: 'HTTP_MALFORMED_REQUEST' }
    })
    expect([response.headers.connection, response.closed]).toEqual(['close', true])
  })

  it('headers over the limit are a 431 envelope', async () => {
    const response = await raw(`GET /livez HTTP/1.1\r\nHost: a\r\nX-Big: ${'a'.repeat(17 * 1024)}\r\n\r\n`)

    expect(answer(response)).toEqual({
      status: 431, type: JSON_TYPE, body: { error: 'the request headers are too large', code: 'HTTP_HEADERS_TOO_LARGE' }
    })
  })

  it('HTTP/1.1 without a Host header is a 400 envelope, not an empty 400', async () => {
    const response = await raw('GET /livez HTTP/1.1\r\n\r\n')

    expect(answer(response)).toEqual({
      status: 400, type: JSON_TYPE, body: { error: 'the request must carry a Host header', code: 'HTTP_MISSING_HOST' }
    })
    expect(response.closed).toBe(true)
  })

  it('a bad percent escape in the path is a 400 envelope, not FST_ERR_BAD_URL', async () => {
    const response = await raw('GET /things/%zz/ HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n')

    expect(answer(response)).toEqual({
      status: 400, type: JSON_TYPE, body: { error: 'the request path is malformed', code: 'HTTP_BAD_PATH' }
    })
    expect(response.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/)
  })

  it('a path parameter over the router limit is a 414 envelope, not FST_ERR_MAX_PARAM_LENGTH', async () => {
    const response = await raw(`PUT /things/${'a'.repeat(201)}/ HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n` +
      'Connection: close\r\n\r\n')

    expect(answer(response)).toEqual({
      status: 414, type: JSON_TYPE, body: { error: 'the request path is too long', code: 'HTTP_URI_TOO_LONG' }
    })
  })

  it('QUERY without a Content-Type is a 400 with our code, not FST_ERR_ROUTE_MISSING_CONTENT_TYPE', async () => {
    const response = await app.inject({ method: 'QUERY', url: '/things/' })

    expect([response.statusCode, response.json()]).toEqual([400, {
      error: 'a QUERY request must carry a Content-Type header', code: 'HTTP_BAD_REQUEST'
    }])
  })

  it('a plugin\'s 4xx keeps its status and message but not its code', async () => {
    const response = await app.inject({ method: 'GET', url: '/plugin/' })

    expect([response.statusCode, response.json()]).toEqual([409, {
      error: 'the plugin says no', code: 'HTTP_CLIENT_ERROR'
    }])
  })
})

describe('a client that stalls its body', () => {
  it('gets a 408 envelope once requestTimeoutMs has passed, and its connection is closed', async () => {
    const started = Date.now()
    const response = await raw('POST /things/ HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\n' +
      'Content-Length: 100\r\n\r\n{"a":', 5000)
    const elapsed = Date.now() - started

    expect(answer(response)).toEqual({
      status: 408, type: JSON_TYPE, body: { error: 'the request was not received in time', code: 'HTTP_REQUEST_TIMEOUT' }
    })
    expect(response.closed).toBe(true)
    // Node looks for expired requests every quarter of the bound here, so about 1.25 s at most.
    expect(elapsed).toBeGreaterThanOrEqual(1000)
    expect(elapsed).toBeLessThan(2500)
  })
})

describe('serverOptions', () => {
  it('bounds the request time and has Node check it every second at most, whatever the bound', () => {
    const options = serverOptions({ level: 'silent', service: 't', requestTimeoutMs: 120_000 })

    expect([options.requestTimeout, options.http]).toEqual([120_000, {
      requireHostHeader: false, connectionsCheckingInterval: 1000, headersTimeout: 60_000
    }])
  })

  it('defaults to a 30 s request timeout', () => {
    expect(serverOptions({ level: 'silent', service: 't' }).requestTimeout).toBe(30_000)
  })
})
