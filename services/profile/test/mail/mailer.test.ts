import type { AddressInfo } from 'node:net'
import { createTaskTracker } from '@tessera/http'
import { getFreePort } from '@tessera/testing'
import { SMTPServer } from 'smtp-server'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { createMailer, type MailLog } from '../../src/mail/mailer.js'

const USER_ID = '0b6f0a8e-5f57-4d4c-9a57-1f1f6a0d2c11'
const TO_ADA = { to: 'ada@example.com', userId: USER_ID, validForSeconds: 900 }

interface Received {
  from: string
  to: string[]
  raw: string
}

interface LogEntry {
  level: 'info' | 'warn' | 'error'
  obj: Record<string, unknown>
  msg?: string
}

function captureLog (): MailLog & { entries: LogEntry[] } {
  const entries: LogEntry[] = []
  const at = (level: LogEntry['level']) => (obj: object, msg?: string) => {
    entries.push({ level, obj: obj as Record<string, unknown>, msg })
  }
  return { entries, info: at('info'), warn: at('warn'), error: at('error') }
}

/** The decoded text body and the headers of a single-part message. */
function parse (raw: string): { headers: Record<string, string>, text: string } {
  const [head = '', ...rest] = raw.split('\r\n\r\n')
  const headers: Record<string, string> = {}
  for (const line of head.replace(/\r\n[ \t]+/g, ' ').split('\r\n')) {
    const colon = line.indexOf(':')
    headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim()
  }

  let body = rest.join('\r\n\r\n')
  if (headers['content-transfer-encoding'] === 'quoted-printable') {
    body = Buffer.from(body.replace(/=\r\n/g, '').replace(/=([0-9A-F]{2})/g, (_m, hex: string) =>
      String.fromCharCode(parseInt(hex, 16))), 'latin1').toString('utf8')
  }
  return { headers, text: body.replace(/\r\n/g, '\n') }
}

describe('mailer over SMTP', () => {
  const received: Received[] = []
  let attempts = 0
  // Response code to refuse the next message with, by attempt number; null accepts it
  let refuse: (attempt: number) => number | null = () => null
  let server: SMTPServer
  let smtpUrl: string

  beforeAll(async () => {
    server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS', 'AUTH'],
      logger: false,
      onData (stream, session, callback) {
        const chunks: Buffer[] = []
        stream.on('data', (chunk: Buffer) => chunks.push(chunk))
        stream.on('end', () => {
          attempts += 1
          const code = refuse(attempts)
          if (code !== null) {
            callback(Object.assign(new Error(`refused with ${code}`), { responseCode: code }))
            return
          }
          const from = session.envelope.mailFrom === false ? '' : session.envelope.mailFrom.address
          const to = session.envelope.rcptTo.map((r) => r.address)
          received.push({ from, to, raw: Buffer.concat(chunks).toString() })
          callback()
        })
      }
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    smtpUrl = `smtp://127.0.0.1:${(server.server.address() as AddressInfo).port}`
  })

  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()))
  })

  beforeEach(() => {
    received.length = 0
    attempts = 0
    refuse = () => null
  })

  function mailer (overrides: { retries?: number, smtpUrl?: string, timeoutMs?: number } = {}) {
    const tracker = createTaskTracker()
    const log = captureLog()
    const instance = createMailer({
      smtpUrl,
      from: 'Tessera <no-reply@tessera.test>',
      frontendUrl: 'http://localhost:5173/',
      log,
      track: (task) => tracker.track(task),
      retryDelayMs: 10,
      ...overrides
    })
    return { instance, tracker, log }
  }

  it('sends the activation code and link in the background, tracked until delivered', async () => {
    const { instance, tracker, log } = mailer()

    expect(instance.sendActivation({ ...TO_ADA, code: '042917' })).toBeUndefined()
    expect(tracker.pending).toBe(1)
    expect(await tracker.drain(5000)).toBe(true)

    expect(received).toHaveLength(1)
    expect(received[0]?.from).toBe('no-reply@tessera.test')
    expect(received[0]?.to).toEqual(['ada@example.com'])
    const { headers, text } = parse(received[0]!.raw)
    expect(headers.subject).toBe('Activate your Tessera account')
    expect(headers.from).toBe('Tessera <no-reply@tessera.test>')
    expect(text.match(/^ {4}(\d{6})$/m)?.[1]).toBe('042917')
    expect(text).toContain(`Enter it at http://localhost:5173/auth/activate/${USER_ID}\n`)
    expect(text).toContain('The code expires in 15 minutes.')
    expect(log.entries.map((e) => [e.level, e.msg, e.obj.attempt])).toEqual([['info', 'e-mail sent', 1]])
    instance.close()
  })

  it('sends the reset code with the password-change link', async () => {
    const { instance, tracker } = mailer()

    instance.sendPasswordReset({ ...TO_ADA, code: '100200', validForSeconds: 1800 })
    await tracker.drain(5000)

    const { headers, text } = parse(received[0]!.raw)
    expect(headers.subject).toBe('Reset your Tessera password')
    expect(text.match(/^ {4}(\d{6})$/m)?.[1]).toBe('100200')
    const link = `http://localhost:5173/auth/password/change/${USER_ID}`
    expect(text).toContain(`Choose a new password at ${link}\n`)
    expect(text).toContain('The code expires in 30 minutes.')
    instance.close()
  })

  it('retries a temporary refusal and then delivers', async () => {
    refuse = (attempt) => attempt === 1 ? 421 : null
    const { instance, tracker, log } = mailer()

    instance.sendActivation({ ...TO_ADA, code: '123456' })
    await tracker.drain(5000)

    expect(attempts).toBe(2)
    expect(received).toHaveLength(1)
    expect(log.entries.map((e) => [e.level, e.msg, e.obj.attempt])).toEqual([
      ['warn', 'e-mail failed, will retry', 1],
      ['info', 'e-mail sent', 2]
    ])
    instance.close()
  })

  it('does not retry a permanent refusal, and logs it without throwing', async () => {
    refuse = () => 550
    const { instance, tracker, log } = mailer()

    instance.sendPasswordReset({ ...TO_ADA, to: 'nobody@example.com', code: '123456' })
    expect(await tracker.drain(5000)).toBe(true)

    expect(attempts).toBe(1)
    expect(log.entries.map((e) => [e.level, e.msg, e.obj.attempt])).toEqual([
      ['error', 'e-mail could not be sent', 1]
    ])
    instance.close()
  })

  it('gives up after the configured retries', async () => {
    refuse = () => 451
    const { instance, tracker, log } = mailer({ retries: 2 })

    instance.sendAccountExists('ada@example.com')
    await tracker.drain(5000)

    expect(attempts).toBe(3)
    expect(log.entries.map((e) => e.level)).toEqual(['warn', 'warn', 'error'])
    instance.close()
  })

  it('survives an SMTP server that is not there', async () => {
    const port = await getFreePort()
    const nowhere = `smtp://127.0.0.1:${port}`
    const { instance, tracker, log } = mailer({ smtpUrl: nowhere, retries: 1, timeoutMs: 1000 })

    instance.sendActivation({ ...TO_ADA, code: '123456' })
    expect(await tracker.drain(10_000)).toBe(true)

    expect(log.entries.map((e) => [e.level, (e.obj.err as { code?: string }).code])).toEqual([
      ['warn', 'ESOCKET'], ['error', 'ESOCKET']
    ])
    instance.close()
  })
})

describe('mailer without SMTP', () => {
  it('writes the whole message, code and link included, to the log at info', () => {
    const log = captureLog()
    const tracker = createTaskTracker()
    const mailer = createMailer({
      from: 'no-reply@tessera.test',
      frontendUrl: 'https://app.example.com',
      log,
      track: (task) => tracker.track(task)
    })

    mailer.sendActivation({ ...TO_ADA, code: '555123', validForSeconds: 60 })

    expect(tracker.pending).toBe(0)
    expect(log.entries).toHaveLength(1)
    const [entry] = log.entries
    expect(entry?.level).toBe('info')
    const mail = entry?.obj.mail as { to: string, subject: string, text: string }
    expect([mail.to, mail.subject]).toEqual(['ada@example.com', 'Activate your Tessera account'])
    expect(mail.text).toContain('\n    555123\n')
    expect(mail.text).toContain(`Enter it at https://app.example.com/auth/activate/${USER_ID}\n`)
    expect(mail.text).toContain('The code expires in 1 minute.')
  })
})
