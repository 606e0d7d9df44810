import { randomBytes } from 'node:crypto'
import { Readable } from 'node:stream'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startStandIn, tooLarge, type StandIn } from './fixtures/stand-in.js'
import { JSON_TYPE, startGateway, type RunningGateway } from './helpers.js'
import { sendUntilAnswered } from './raw-http.js'

const KiB = 1024
const MiB = 1024 * KiB
const UPLOAD_LIMIT = 5 * MiB + 128 * KiB

let profile: StandIn
let media: StandIn
let gateway: RunningGateway

beforeAll(async () => {
  [profile, media] = await Promise.all([startStandIn('profile'), startStandIn('media')])
  gateway = await startGateway({ PROFILE_URL: profile.url, MEDIA_URL: media.url, LOGIN_RATE_LIMIT: '1000' })
})

afterAll(async () => {
  await gateway?.close()
  await Promise.all([profile?.close(), media?.close()])
})

const refused = (limit: number) => ({ error: `body must not be larger than ${limit} bytes`, code: 'GATEWAY_PAYLOAD_TOO_LARGE' })

/** `bytes` of random body in 64 KiB pieces. */
function * pieces (bytes: number): Generator<Buffer> {
  for (let sent = 0; sent < bytes; sent += 64 * KiB) yield randomBytes(Math.min(64 * KiB, bytes - sent))
}

/** The same pieces in chunked transfer coding, with the last chunk. */
function * chunked (bytes: number): Generator<Buffer> {
  for (const piece of pieces(bytes)) yield Buffer.concat([Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n')])
  yield Buffer.from('0\r\n\r\n')
}

const head = (method: string, path: string, headers: Record<string, string | number>) =>
  `${method} ${path} HTTP/1.1\r\nHost: gateway.test\r\n` +
  Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`).join('') + '\r\n'

describe('a service that refuses a body before reading it and closes its connection', () => {
  // The service answers at once and closes with the body unread: its socket resets, and the
  // gateway's next write of the body fails. The answer was already on the wire.
  it('has its 413 reach the client, not a 502', async () => {
    const outcomes: unknown[] = []
    for (let i = 0; i < 5; i++) {
      for (const [path, method, bytes] of [['/users/update-user/', 'PATCH', 900 * KiB], ['/file/upload/', 'POST', 4 * MiB]] as const) {
        const response = await request(`${gateway.url}${path}`, {
          method,
          headers: { 'content-type': 'application/json', 'x-stand-in': 'early-close' },
          body: randomBytes(bytes)
        })
        outcomes.push([response.statusCode, response.headers['content-type'], await response.body.json()])
      }
    }

    expect(outcomes).toEqual(Array(10).fill([413, JSON_TYPE, tooLarge]))
  })
})

describe('a body over its route\'s bound', () => {
  it.each([
    ['a JSON body to profile', 'PATCH', '/users/update-user/', 'application/json', MiB + 1, MiB],
    ['a login', 'POST', '/users/login/', 'application/json', 1_100_000, MiB],
    ['an upload', 'POST', '/file/upload/', 'multipart/form-data; boundary=x', 6 * MiB, UPLOAD_LIMIT],
    ['a urlencoded delete', 'DELETE', '/file/delete/', 'application/x-www-form-urlencoded', 2_000_000, 16 * KiB]
  ])('by its Content-Length: %s is a 413 of the gateway, and nothing is forwarded', async (_name, method, path, type, bytes, limit) => {
    const before = [profile.received.length, media.received.length]
    const { response, closed } = await sendUntilAnswered(gateway.url,
      head(method, path, { 'content-type': type, 'content-length': bytes }), pieces(bytes))

    expect([response.status, response.headers['content-type'], JSON.parse(response.body)]).toEqual([413, JSON_TYPE, refused(limit)])
    expect([response.headers.connection, closed]).toEqual(['close', true])
    expect([profile.received.length, media.received.length]).toEqual(before)
  })

  it.each([
    ['a JSON body to profile', 'PATCH', '/users/update-user/', 2 * MiB, MiB],
    ['an upload', 'POST', '/file/upload/', 8 * MiB, UPLOAD_LIMIT]
  ])('sent chunked: %s is cut at the bound and ends as a 413', async (_name, method, path, bytes, limit) => {
    const { response } = await sendUntilAnswered(gateway.url,
      head(method, path, { 'content-type': 'application/octet-stream', 'transfer-encoding': 'chunked' }), chunked(bytes))

    expect([response.status, response.headers['content-type'], JSON.parse(response.body)]).toEqual([413, JSON_TYPE, refused(limit)])
    expect(response.headers.connection).toBe('close')
  })

  it('sent chunked and exactly at the bound, is forwarded whole', async () => {
    const body = randomBytes(MiB)
    const response = await request(`${gateway.url}/users/update-user/`, {
      method: 'PATCH', headers: { 'content-type': 'application/json' }, body: Readable.from([body.subarray(0, 1000), body.subarray(1000)])
    })

    const echo = await response.body.json() as { body: { bytes: number }, headers: Record<string, string> }
    expect([response.statusCode, echo.body.bytes, echo.headers['transfer-encoding']]).toEqual([200, MiB, 'chunked'])
  })
})
