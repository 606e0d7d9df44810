import { randomBytes } from 'node:crypto'
import { Writable } from 'node:stream'
import { setTimeout as sleep } from 'node:timers/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startStandIn, type StandIn } from './fixtures/stand-in.js'
import { startGateway, type RunningGateway } from './helpers.js'
import { openSocket } from './raw-http.js'

const MiB = 1024 * 1024

interface LogLine {
  level: number
  msg: string
  statusCode?: number
  upstream?: string
  operation?: string
}

describe('a client that aborts mid-upload', () => {
  let media: StandIn
  let gateway: RunningGateway
  const lines: LogLine[] = []

  beforeAll(async () => {
    media = await startStandIn('media')
    const stream = new Writable({
      write (chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString('utf8').split('\n')) if (line !== '') lines.push(JSON.parse(line) as LogLine)
        done()
      }
    })
    gateway = await startGateway({ PROFILE_URL: media.url, MEDIA_URL: media.url }, { logger: { level: 'info', stream } })
  })

  afterAll(async () => {
    await gateway?.close()
    await media?.close()
  })

  async function until (found: () => boolean): Promise<void> {
    for (let i = 0; i < 100 && !found(); i++) await sleep(20)
  }

  it('is logged at info as 499 and counted as 499, not as a 502 of the service', async () => {
    const upload = await openSocket(gateway.url)
    upload.write('POST /file/upload/ HTTP/1.1\r\nHost: a\r\nContent-Type: application/octet-stream\r\n' +
      `Content-Length: ${4 * MiB}\r\n\r\n`)
    upload.write(randomBytes(MiB))
    await until(() => media.received.some((r) => r.url === '/file/upload/'))
    upload.destroy()
    await until(() => lines.some((line) => line.msg === 'client closed the connection'))

    expect(lines.filter((line) => line.level >= 50)).toEqual([])
    expect(lines.find((line) => line.msg === 'client closed the connection')).toMatchObject({
      level: 30, statusCode: 499, upstream: 'media', operation: 'gateway.upload'
    })

    const text = await gateway.app.tesseraMetrics.text()
    const proxied = text.split('\n').filter((line) => line.startsWith('tessera_proxy_duration_seconds_count{'))
    expect(proxied).toEqual(['tessera_proxy_duration_seconds_count{service="gateway",upstream="media",status="499"} 1'])
    expect(gateway.app.tesseraMetrics.snapshot().total_responses_sent_by_status).toEqual({})
  })
})
