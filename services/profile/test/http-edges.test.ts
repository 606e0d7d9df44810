import { connect } from 'node:net'
import { appUrl, useTestApp, useTestDatabase } from '@tessera/testing'
import { describe, expect, it } from 'vitest'
import { buildApp } from '../src/app.js'
import { JSON_TYPE, testConfig } from './helpers/app.js'

interface Answer {
  status: number
  type: string | undefined
  body: unknown
  closed: boolean
}

describe('requests the framework refuses, over a real socket', () => {
  const db = useTestDatabase()
  const app = useTestApp(() => buildApp(testConfig(db().connectionString, { REQUEST_TIMEOUT_MS: '1000' }), {
    pool: db().pool
  }), { listen: true })

  /** Writes `head` and reads what comes back until the server closes, or 5 s. */
  async function send (head: string): Promise<Answer> {
    const { hostname, port } = new URL(appUrl(app()))
    const socket = connect({ host: hostname, port: Number(port) })
    const chunks: Buffer[] = []
    socket.on('data', (chunk: Buffer) => chunks.push(chunk))
    socket.on('error', () => {})
    const closed = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 5000)
      socket.once('close', () => { clearTimeout(timer); resolve(true) })
      socket.write(head)
    })
    socket.destroy()

    const text = Buffer.concat(chunks).toString('utf8')
    const [headers = '', body = ''] = text.split('\r\n\r\n')
    const type = /^content-type: (.*)$/im.exec(headers)?.[1]
    return { status: Number(headers.split(' ')[1]), type, body: JSON.parse(body), closed }
  }

  it('answers a login whose body stalls with a 408 envelope after REQUEST_TIMEOUT_MS', async () => {
    const started = Date.now()
    const answer = await send('POST /users/login/ HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\n' +
      'Content-Length: 100\r\n\r\n{"email":')

    expect(answer).toEqual({
      status: 408,
      type: JSON_TYPE,
      body: { error: 'the request was not received in time', code: 'HTTP_REQUEST_TIMEOUT' },
      closed: true
    })
    expect(Date.now() - started).toBeLessThan(3000)
  })

  it('answers an over-long activation id with a 414 envelope, not FST_ERR_MAX_PARAM_LENGTH', async () => {
    const answer = await send(`PUT /users/activate/${'a'.repeat(201)}/ HTTP/1.1\r\nHost: a\r\n` +
      'Content-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}')

    expect(answer).toMatchObject({
      status: 414, type: JSON_TYPE, body: { error: 'the request path is too long', code: 'HTTP_URI_TOO_LONG' }
    })
  })

  it('answers a bad percent escape with a 400 envelope, not FST_ERR_BAD_URL', async () => {
    const answer = await send('GET /users/%zz/ HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n')

    expect(answer).toMatchObject({
      status: 400, type: JSON_TYPE, body: { error: 'the request path is malformed', code: 'HTTP_BAD_PATH' }
    })
  })

  it('answers a method Node cannot parse with a 400 envelope', async () => {
    const answer = await send('FOO /livez HTTP/1.1\r\nHost: a\r\n\r\n')

    expect(answer).toEqual({
      status: 400, type: JSON_TYPE, body: { error: 'the request is malformed', code: 'HTTP_MALFORMED_REQUEST' }, closed: true
    })
  })
})
