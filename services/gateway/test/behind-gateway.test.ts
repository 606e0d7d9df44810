import Fastify, { type FastifyInstance } from 'fastify'
import { httpConventions, serverOptions } from '@tessera/http'
import { appUrl } from '@tessera/testing'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startStandIn } from './fixtures/stand-in.js'
import { JSON_TYPE, startGateway, type RunningGateway } from './helpers.js'
import { sendUntilAnswered } from './raw-http.js'

/** A service built as Tessera's are, with a 1 s request timeout: what the gateway really fronts. */
async function startService (): Promise<FastifyInstance> {
  const app = Fastify(serverOptions({ level: 'silent', service: 'svc', logger: false, requestTimeoutMs: 1000 }))
  await app.register(httpConventions)
  app.post('/users/login/', async (request) => ({ got: request.body }))
  app.get('/file/x/', async () => ({ ok: true }))
  await app.listen({ host: '127.0.0.1', port: 0 })
  return app
}

let service: FastifyInstance
let gateway: RunningGateway

beforeAll(async () => {
  service = await startService()
  gateway = await startGateway({
    PROFILE_URL: appUrl(service),
    MEDIA_URL: appUrl(service),
    CORS_ORIGINS: 'https://app.tessera.test',
    UPLOAD_TIMEOUT_MS: '10000'
  })
})

afterAll(async () => {
  await gateway?.close()
  await service?.close()
})

describe('a method the gateway does not route itself', () => {
  const notAllowed = (method: string) => ({ error: `the ${method} method is not supported for this resource`, code: 'HTTP_METHOD_NOT_ALLOWED' })

  it.each(['OPTIONS', 'TRACE', 'PROPFIND', 'SEARCH'])('%s is the service\'s 405, with the methods it allows', async (method) => {
    const response = await request(`${gateway.url}/users/login/`, { method })

    expect([response.statusCode, response.headers.allow, response.headers['content-type'], await response.body.json()])
      .toEqual([405, 'POST', JSON_TYPE, notAllowed(method)])
  })

  it('QUERY with a body is the service\'s 405 too', async () => {
    const response = await request(`${gateway.url}/file/x/`, {
      method: 'QUERY', headers: { 'content-type': 'application/json' }, body: '{}'
    })

    expect([response.statusCode, response.headers.allow, await response.body.json()])
      .toEqual([405, 'GET, HEAD', notAllowed('QUERY')])
  })

  it('is still answered by the gateway when it is a preflight from an allowed origin', async () => {
    const response = await request(`${gateway.url}/users/login/`, {
      method: 'OPTIONS', headers: { origin: 'https://app.tessera.test', 'access-control-request-method': 'POST' }
    })
    await response.body.dump()

    expect([response.statusCode, response.headers['access-control-allow-origin']]).toEqual([204, 'https://app.tessera.test'])
  })
})

describe('a client that stalls a JSON body through the gateway', () => {
  it('gets the service\'s 408 envelope once the service\'s request timeout has passed', async () => {
    const started = Date.now()
    const { response, closed } = await sendUntilAnswered(gateway.url, 'POST /users/login/ HTTP/1.1\r\nHost: a\r\n' +
      'Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"email":')
    const elapsed = Date.now() - started

    expect([response.status, response.headers['content-type'], JSON.parse(response.body)]).toEqual([408, JSON_TYPE, {
      error: 'the request was not received in time', code: 'HTTP_REQUEST_TIMEOUT'
    }])
    expect(closed).toBe(true)
    // The service's bound is 1 s and it checks every 250 ms; the gateway's own is 10 s.
    expect(elapsed).toBeLessThan(3000)
  })
})

describe('the gateway\'s own request timeout', () => {
  it('cuts off a stalled upload within about a second of UPLOAD_TIMEOUT_MS', async () => {
    // A service with no request timeout of its own: only the gateway's clock runs.
    const patient = await startStandIn('media')
    const other = await startGateway({ PROFILE_URL: patient.url, MEDIA_URL: patient.url, UPLOAD_TIMEOUT_MS: '1500' })
    try {
      const started = Date.now()
      const { response, closed } = await sendUntilAnswered(other.url, 'POST /file/upload/ HTTP/1.1\r\nHost: a\r\n' +
        'Content-Type: application/octet-stream\r\nContent-Length: 1000\r\n\r\n', [Buffer.alloc(100)])
      const elapsed = Date.now() - started

      expect([response.status, JSON.parse(response.body), closed]).toEqual([408, {
        error: 'the request was not received in time', code: 'GATEWAY_REQUEST_TIMEOUT'
      }, true])
      expect(elapsed).toBeGreaterThanOrEqual(1500)
      expect(elapsed).toBeLessThan(3000)
    } finally {
      await other.close()
      await patient.close()
    }
  })
})
