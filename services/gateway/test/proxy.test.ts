import { createHash, randomBytes } from 'node:crypto'
import { Readable } from 'node:stream'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { patternChunks, sha256Of, startStandIn, tooLarge, type StandIn } from './fixtures/stand-in.js'
import { JSON_TYPE, startGateway, type RunningGateway } from './helpers.js'
import { openSocket, parseRawResponse, rawRequest, readUntil } from './raw-http.js'

const MiB = 1024 * 1024

let profile: StandIn
let media: StandIn
let gateway: RunningGateway

beforeAll(async () => {
  profile = await startStandIn('profile')
  media = await startStandIn('media')
  // Room for the multi-MiB uploads below; body-limits.test.ts tests the bound itself.
  gateway = await startGateway({
    PROFILE_URL: profile.url, MEDIA_URL: media.url, MAX_UPLOAD_BODY_BYTES: String(64 * MiB)
  })
})

afterAll(async () => {
  await gateway?.close()
  await Promise.all([profile?.close(), media?.close()])
})

interface Echo {
  service: string
  method: string
  url: string
  headers: Record<string, string>
  body: { bytes: number, sha256: string }
}

/** Random chunks of `bytes` in total, and the sha256 of all of them, known once they are consumed. */
function randomBody (bytes: number, chunk = 64 * 1024) {
  const hash = createHash('sha256')
  async function * chunks () {
    for (let sent = 0; sent < bytes; sent += chunk) {
      const part = randomBytes(Math.min(chunk, bytes - sent))
      hash.update(part)
      yield part
    }
  }
  return { stream: Readable.from(chunks()), digest: () => hash.digest('hex') }
}

describe('routing', () => {
  it('sends /users/* to profile and /file/* to media with path and query as they came', async () => {
    const users = await request(`${gateway.url}/users/some/path/?a=1&b=%20x&a=2`)
    const file = await request(`${gateway.url}/file/thing/?q=%C3%A9`)

    const [u, f] = [await users.body.json() as Echo, await file.body.json() as Echo]
    expect([users.statusCode, u.service, u.method, u.url]).toEqual([200, 'profile', 'GET', '/users/some/path/?a=1&b=%20x&a=2'])
    expect([file.statusCode, f.service, f.url]).toEqual([200, 'media', '/file/thing/?q=%C3%A9'])
  })

  it('answers HEAD from the service, headers only', async () => {
    const get = await request(`${gateway.url}/file/big/?bytes=1000`)
    await get.body.dump()
    const head = await request(`${gateway.url}/file/big/?bytes=1000`, { method: 'HEAD' })

    expect([head.statusCode, await head.body.text()]).toEqual([200, ''])
    expect(media.received.at(-1)?.method).toBe('HEAD')
  })

  it('leaves request bodies to the services: bad JSON and a JSON body of 1 MiB pass through unparsed', async () => {
    const bad = await request(`${gateway.url}/users/login/`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"email": '
    })
    const large = Buffer.from(JSON.stringify({ pad: 'x'.repeat(MiB - 10) }))
    const big = await request(`${gateway.url}/users/update-user/`, {
      method: 'PATCH', headers: { 'content-type': 'application/json' }, body: large
    })

    const badEcho = await bad.body.json() as Echo
    expect([bad.statusCode, badEcho.body.bytes, badEcho.headers['content-type']]).toEqual([200, 10, 'application/json'])
    const bigEcho = await big.body.json() as Echo
    expect(big.statusCode).toBe(200)
    expect(bigEcho.body).toEqual({ bytes: large.length, sha256: sha256Of([large]) })
  })

  it('forwards the body of a DELETE without a content type', async () => {
    const body = 'thumbnail_url=https%3A%2F%2Fs3.example%2Fa.png'
    const response = await request(`${gateway.url}/file/delete/`, { method: 'DELETE', body })

    const echo = await response.body.json() as Echo
    expect(echo.method).toBe('DELETE')
    expect(echo.body).toEqual({ bytes: body.length, sha256: sha256Of([Buffer.from(body)]) })
  })
})

describe('streaming', () => {
  it('streams a 20 MiB upload to media byte for byte, with its content type untouched', async () => {
    const body = randomBody(20 * MiB)
    const response = await request(`${gateway.url}/file/upload/`, {
      method: 'POST',
      headers: { 'content-type': 'multipart/form-data; boundary=XyZ', 'content-length': String(20 * MiB) },
      body: body.stream
    })

    const echo = await response.body.json() as Echo
    expect(response.statusCode).toBe(200)
    expect(echo.body).toEqual({ bytes: 20 * MiB, sha256: body.digest() })
    expect(echo.headers['content-type']).toBe('multipart/form-data; boundary=XyZ')
    expect(echo.headers['content-length']).toBe(String(20 * MiB))
  })

  it('streams a chunked upload of unknown length', async () => {
    const body = randomBody(5 * MiB + 123)
    const response = await request(`${gateway.url}/file/upload/`, {
      method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: body.stream
    })

    const echo = await response.body.json() as Echo
    expect(echo.body).toEqual({ bytes: 5 * MiB + 123, sha256: body.digest() })
    expect(echo.headers['transfer-encoding']).toBe('chunked')
    expect(echo.headers['content-length']).toBeUndefined()
  })

  it('streams a 20 MiB download back to the client', async () => {
    const response = await request(`${gateway.url}/file/big/?bytes=${20 * MiB}`)

    const hash = createHash('sha256')
    let bytes = 0
    for await (const chunk of response.body) {
      bytes += chunk.length
      hash.update(chunk)
    }
    expect([response.statusCode, bytes]).toEqual([200, 20 * MiB])
    expect(hash.digest('hex')).toBe(sha256Of(patternChunks(20 * MiB)))
  })

  it('passes on a service refusing an upload before reading it, and closes the connection', async () => {
    const response = await request(`${gateway.url}/file/upload/`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream', 'x-stand-in': 'early' },
      body: randomBytes(8 * MiB)
    })

    expect([response.statusCode, response.headers.connection, await response.body.json()])
      .toEqual([413, 'close', tooLarge])
  })

  it('answers Expect: 100-continue itself and forwards a multi-MiB body without the header', async () => {
    const body = randomBytes(4 * MiB)
    const socket = await openSocket(gateway.url)
    socket.write('POST /file/upload/ HTTP/1.1\r\nHost: gateway.test\r\nContent-Type: application/octet-stream\r\n' +
      `Content-Length: ${body.length}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n`)

    const interim = await readUntil(socket, '\r\n\r\n')
    expect(interim).toBe('HTTP/1.1 100 Continue\r\n\r\n')

    const chunks: Buffer[] = []
    socket.on('data', (chunk: Buffer) => chunks.push(chunk))
    const closed = new Promise((resolve) => socket.once('close', resolve))
    socket.write(body)
    await closed

    const response = parseRawResponse(Buffer.concat(chunks).toString('latin1'))
    const echo = JSON.parse(response.body) as Echo
    expect(response.status).toBe(200)
    expect(echo.body).toEqual({ bytes: body.length, sha256: sha256Of([body]) })
    expect(echo.headers.expect).toBeUndefined()
  })
})

describe('clients that go away', () => {
  it('mid-upload or mid-download leave the gateway serving', async () => {
    const upload = await openSocket(gateway.url)
    upload.write('POST /file/upload/ HTTP/1.1\r\nHost: a\r\nContent-Type: application/octet-stream\r\n' +
      `Content-Length: ${10 * MiB}\r\n\r\n`)
    upload.write(randomBytes(MiB))
    await new Promise((resolve) => setTimeout(resolve, 50))
    upload.destroy()

    const download = await request(`${gateway.url}/file/big/?bytes=${50 * MiB}`)
    const reading = download.body[Symbol.asyncIterator]()
    await reading.next()
    download.body.destroy()

    const after = await request(`${gateway.url}/users/echo/`)
    expect((await after.body.json() as Echo).service).toBe('profile')
  })
})

describe('headers', () => {
  it('passes every Set-Cookie through unchanged, as separate headers', async () => {
    const response = await request(`${gateway.url}/users/cookies/`)

    expect(response.headers['set-cookie']).toEqual([
      'a=1; Path=/',
      'b=2; Path=/; HttpOnly',
      'sessionid=xyz; Path=/; Max-Age=60; HttpOnly; SameSite=Lax'
    ])
  })

  it('replaces client X-Forwarded-* and Forwarded with the socket peer and drops hop-by-hop headers', async () => {
    const port = new URL(gateway.url).port
    const response = await rawRequest(gateway.url, 'GET /users/echo/ HTTP/1.1\r\n' +
      `Host: 127.0.0.1:${port}\r\n` +
      'X-Forwarded-For: 6.6.6.6\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Host: evil.example\r\n' +
      'X-Forwarded-Port: 1\r\nForwarded: for=6.6.6.6;proto=https\r\nX-Real-IP: 6.6.6.6\r\n' +
      'Connection: close, x-secret-hop\r\nX-Secret-Hop: must not pass\r\nKeep-Alive: timeout=5\r\n' +
      'Proxy-Authorization: Basic abc\r\nTE: trailers\r\nUpgrade: websocket\r\nX-Kept: yes\r\n\r\n')

    const { headers } = JSON.parse(response.body) as Echo
    expect({
      for: headers['x-forwarded-for'],
      proto: headers['x-forwarded-proto'],
      host: headers['x-forwarded-host'],
      port: headers['x-forwarded-port'],
      forwarded: headers.forwarded
    }).toEqual({
      for: '127.0.0.1',
      proto: 'http',
      host: `127.0.0.1:${port}`,
      port,
      forwarded: `for=127.0.0.1;proto=http;host="127.0.0.1:${port}"`
    })
    for (const name of ['x-real-ip', 'x-secret-hop', 'keep-alive', 'proxy-authorization', 'te', 'upgrade']) {
      expect(headers[name], name).toBeUndefined()
    }
    expect(headers['x-kept']).toBe('yes')
  })

  it('quotes an IPv6 peer in Forwarded', async () => {
    const response = await gateway.app.inject({ url: '/users/echo/', remoteAddress: '2001:db8::7', headers: { host: 'gw.test' } })

    const { headers } = response.json<Echo>()
    expect([headers['x-forwarded-for'], headers.forwarded]).toEqual(['2001:db8::7', 'for="[2001:db8::7]";proto=http;host=gw.test'])
  })

  it('believes X-Forwarded-* only from the proxies TRUST_PROXY names, up to the first it does not trust', async () => {
    const behindProxy = await startGateway({ PROFILE_URL: profile.url, MEDIA_URL: media.url, TRUST_PROXY: '127.0.0.1' })
    try {
      const response = await request(`${behindProxy.url}/users/echo/`, {
        headers: { 'x-forwarded-for': '203.0.113.7, 10.0.0.1', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'app.test' }
      })

      const { headers } = await response.body.json() as Echo
      expect([headers['x-forwarded-for'], headers['x-forwarded-proto'], headers['x-forwarded-host'], headers.forwarded])
        .toEqual(['10.0.0.1, 127.0.0.1', 'https', 'app.test', 'for=10.0.0.1;proto=https;host=app.test'])
    } finally {
      await behindProxy.close()
    }
  })

  it('keeps a short request id token, replaces anything else, and sends the same id both ways', async () => {
    const kept = await request(`${gateway.url}/users/echo/`, { headers: { 'x-request-id': 'abc-123' } })
    const replaced = await request(`${gateway.url}/users/echo/`, { headers: { 'x-request-id': 'not a token!' } })

    expect(kept.headers['x-request-id']).toBe('abc-123')
    expect((await kept.body.json() as Echo).headers['x-request-id']).toBe('abc-123')
    const id = replaced.headers['x-request-id'] as string
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/)
    expect((await replaced.body.json() as Echo).headers['x-request-id']).toBe(id)
  })

  it('passes an upstream status and its envelope through as the service sent them, without retrying', async () => {
    const before = profile.received.length
    const response = await request(`${gateway.url}/users/status/?code=503`)

    expect([response.statusCode, response.headers['retry-after']]).toEqual([503, '1'])
    expect(await response.body.json()).toEqual({ error: 'answered 503', code: 'HTTP_STAND_IN' })
    expect(profile.received.length - before).toBe(1)
  })
})

describe('error bodies of a service that are not an envelope', () => {
  const rejected = (error: string) => ({ error: `the service refused the request: ${error}`, code: 'GATEWAY_UPSTREAM_REJECTED' })

  it.each([
    [414, 'application/json', 414, rejected('uri too long')],
    [404, 'text/html', 404, rejected('not found')],
    [400, 'application/json; charset=utf-8', 400, rejected('bad request')],
    [408, 'application/json', 408, { error: 'the request was not received in time', code: 'GATEWAY_REQUEST_TIMEOUT' }],
    [431, 'application/json', 431, { error: 'the request headers are too large', code: 'GATEWAY_HEADERS_TOO_LARGE' }],
    [503, 'application/json', 503, { error: 'the service is temporarily unavailable, please try again later', code: 'GATEWAY_UPSTREAM_UNAVAILABLE' }],
    [500, 'application/json', 502, { error: 'the service sent an invalid response', code: 'GATEWAY_BAD_GATEWAY' }]
  ])('a %i (%s) is replaced by the gateway\'s envelope: %i', async (code, type, status, body) => {
    const response = await request(`${gateway.url}/users/raw-status/?code=${code}&type=${encodeURIComponent(type)}`)
    const text = await response.body.text()

    expect([response.statusCode, response.headers['content-type'], JSON.parse(text)]).toEqual([status, JSON_TYPE, body])
    expect(response.headers['content-length']).toBe(String(Buffer.byteLength(text)))
  })

  it('a HEAD answered with an error status passes as it is: it has no body to judge', async () => {
    const response = await request(`${gateway.url}/users/raw-status/?code=404`, { method: 'HEAD' })

    expect([response.statusCode, await response.body.text()]).toEqual([404, ''])
  })
})

describe('paths that must not reach an upstream', () => {
  const refused = (body: string) => ({ status: 400, body })
  const badPath = JSON.stringify({ error: 'the request path is malformed', code: 'GATEWAY_BAD_PATH' })
  const malformed = JSON.stringify({ error: 'the request is malformed', code: 'GATEWAY_MALFORMED_REQUEST' })

  const cases: Array<[string, { status: number, body: string }]> = [
    ['/users/../file/x', refused(badPath)],
    ['/users/%2e%2e/file/x', refused(badPath)],
    ['/users/%2E%2e/file', refused(badPath)],
    ['/users/.%2e/file/x', refused(badPath)],
    ['/users/./login/', refused(badPath)],
    ['/users//file/x', refused(badPath)],
    ['/users/..%2ffile%2fx', refused(badPath)],
    ['/users/%2f%2e%2e%2ffile/x', refused(badPath)],
    ['/users/%5c..%5cfile', refused(badPath)],
    ['/users/%zz', refused(badPath)],
    ['/users/x%00y', refused(badPath)],
    ['http://evil.example/file/x', refused(badPath)],
    ['//file/x', { status: 404, body: JSON.stringify({ error: 'the requested resource could not be found', code: 'HTTP_NOT_FOUND' }) }]
  ]

  it.each(cases)('GET %s', async (target, expected) => {
    const before = [profile.received.length, media.received.length]
    const response = await rawRequest(gateway.url, `GET ${target} HTTP/1.1\r\nHost: gateway.test\r\nConnection: close\r\n\r\n`)

    expect({ status: response.status, body: response.body }).toEqual(expected)
    expect([profile.received.length, media.received.length]).toEqual(before)
  })

  const heads = [
    'GET /users/x HTTP/1.1 trailing\r\nHost: a\r\n\r\n',
    'GET /users/x HTTP/9.9\r\nHost: a\r\n\r\n',
    'BREW /users/x HTTP/1.1\r\nHost: a\r\n\r\n',
    'GET /users/\u0001x HTTP/1.1\r\nHost: a\r\n\r\n',
    'GET /users/ x HTTP/1.1\r\nHost: a\r\n\r\n',
    'GET /users/x HTTP/1.1\r\nHost: a\r\nBad Header\r\n\r\n',
    'POST /file/x HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
    'POST /file/x HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd'
  ]

  it.each(heads)('malformed request %j', async (head) => {
    const before = [profile.received.length, media.received.length]
    const response = await rawRequest(gateway.url, head)

    expect({ status: response.status, type: response.headers['content-type'], body: response.body })
      .toEqual({ status: 400, type: JSON_TYPE, body: malformed })
    expect([profile.received.length, media.received.length]).toEqual(before)
  })

  it('still forwards dots inside a segment', async () => {
    const response = await request(`${gateway.url}/users/a..b/c.d/`)

    expect((await response.body.json() as Echo).url).toBe('/users/a..b/c.d/')
  })
})
