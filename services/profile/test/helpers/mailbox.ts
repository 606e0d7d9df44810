import type { AddressInfo } from 'node:net'
import { SMTPServer } from 'smtp-server'
import { afterAll, beforeAll } from 'vitest'

export interface Mail {
  to: string[]
  subject: string
  text: string
}

export interface Mailbox {
  /** `smtp://127.0.0.1:<port>`, for SMTP_URL. */
  url: string
  /** Every message received and not yet taken. */
  readonly messages: Mail[]
  /** Removes and returns the messages to `address` (compared case-insensitively). */
  take (address: string): Mail[]
  /** Runs before each message is accepted; a promise holds the reply back. */
  onMessage: () => Promise<void> | void
  close (): Promise<void>
}

function decodeQuotedPrintable (body: string): string {
  const bytes = body.replace(/=\r\n/g, '')
    .replace(/=([0-9A-F]{2})/g, (_match, hex: string) => String.fromCharCode(parseInt(hex, 16)))
  return Buffer.from(bytes, 'latin1').toString('utf8')
}

function parseMessage (raw: string, to: string[]): Mail {
  const split = raw.indexOf('\r\n\r\n')
  const head = raw.slice(0, split).replace(/\r\n[ \t]+/g, ' ')
  const headers = new Map<string, string>()
  for (const line of head.split('\r\n')) {
    const colon = line.indexOf(':')
    headers.set(line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim())
  }

  let body = raw.slice(split + 4)
  if (headers.get('content-transfer-encoding') === 'quoted-printable') body = decodeQuotedPrintable(body)
  return { to, subject: headers.get('subject') ?? '', text: body.replace(/\r\n/g, '\n') }
}

/** A real SMTP server on 127.0.0.1 that keeps what it receives. */
export async function startMailbox (): Promise<Mailbox> {
  const messages: Mail[] = []

  const mailbox: Mailbox = {
    url: '',
    messages,
    onMessage: () => {},

    take (address) {
      const wanted = address.toLowerCase()
      const taken = messages.filter((mail) => mail.to.some((to) => to.toLowerCase() === wanted))
      for (const mail of taken) messages.splice(messages.indexOf(mail), 1)
      return taken
    },

    async close () {
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  }

  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    // A reverse DNS lookup per connection would cost more than the rest of a test
    disableReverseLookup: true,
    onData (stream, session, callback) {
      const chunks: Buffer[] = []
      stream.on('data', (chunk: Buffer) => chunks.push(chunk))
      stream.on('end', () => {
        const to = session.envelope.rcptTo.map((recipient) => recipient.address)
        Promise.resolve(mailbox.onMessage()).then(() => {
          messages.push(parseMessage(Buffer.concat(chunks).toString(), to))
          callback()
        }, callback)
      })
    }
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  mailbox.url = `smtp://127.0.0.1:${(server.server.address() as AddressInfo).port}`

  return mailbox
}

/** A mailbox for the current file, started in beforeAll and closed in afterAll. */
export function useMailbox (): () => Mailbox {
  let mailbox: Mailbox | undefined

  beforeAll(async () => {
    mailbox = await startMailbox()
  })

  afterAll(async () => {
    await mailbox?.close()
  })

  return () => {
    if (!mailbox) throw new Error('The mailbox exists only once beforeAll has run')
    return mailbox
  }
}

/** The 6-digit code and the user id at the end of the link of an activation or reset e-mail. */
export function codeAndIdIn (mail: Mail): { code: string, id: string } {
  const code = /^ {4}(\d{6})$/m.exec(mail.text)?.[1]
  const id = /\/auth\/(?:activate|password\/change)\/([0-9a-f-]{36})$/m.exec(mail.text)?.[1]
  if (code === undefined || id === undefined) throw new Error(`no code or link in: ${mail.text}`)
  return { code, id }
}
