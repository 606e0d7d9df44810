import type { AddressInfo } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { SMTPServer } from 'smtp-server'

export interface ReceivedMail {
  to: string[]
  /** The raw message: headers, a blank line, the body. */
  raw: string
  /** The body, quoted-printable decoded, with LF line ends. */
  text: string
}

export interface Mailbox {
  /** `smtp://127.0.0.1:<port>`, for SMTP_URL. */
  url: string
  readonly received: ReceivedMail[]
  /** The first message to `address` that arrives, waiting up to `timeoutMs` for it. */
  waitFor (address: string, timeoutMs?: number): Promise<ReceivedMail>
  close (): Promise<void>
}

/** A real SMTP server on 127.0.0.1 that accepts everything and keeps it. */
export async function startMailbox (): Promise<Mailbox> {
  const received: ReceivedMail[] = []

  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    disableReverseLookup: true,
    logger: false,
    onData (stream, session, callback) {
      const chunks: Buffer[] = []
      stream.on('data', (chunk: Buffer) => chunks.push(chunk))
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8')
        received.push({
          to: session.envelope.rcptTo.map((recipient) => recipient.address.toLowerCase()),
          raw,
          text: bodyOf(raw)
        })
        callback()
      })
    }
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.server.address() as AddressInfo

  async function waitFor (address: string, timeoutMs = 30_000): Promise<ReceivedMail> {
    const wanted = address.toLowerCase()
    const deadline = Date.now() + timeoutMs

    while (true) {
      const mail = received.find((message) => message.to.includes(wanted))
      if (mail !== undefined) return mail
      if (Date.now() > deadline) throw new Error(`no e-mail to ${address} within ${timeoutMs} ms`)
      await sleep(50)
    }
  }

  return {
    url: `smtp://127.0.0.1:${port}`,
    received,
    waitFor,
    close: async () => { await new Promise<void>((resolve) => server.close(() => resolve())) }
  }
}

/** The body of a message with quoted-printable soft line breaks and escapes undone. */
function bodyOf (raw: string): string {
  const split = raw.indexOf('\r\n\r\n')
  const head = raw.slice(0, split)
  let body = raw.slice(split + 4)
  if (/^content-transfer-encoding:\s*quoted-printable/im.test(head)) {
    const bytes = body.replace(/=\r\n/g, '').replace(/=([0-9A-F]{2})/g, (_all, hex: string) =>
      String.fromCharCode(parseInt(hex, 16)))
    body = Buffer.from(bytes, 'latin1').toString('utf8')
  }

  return body.replace(/\r\n/g, '\n')
}

/** The 6-digit code on a line of its own and the user id at the end of the activation link. */
export function activationIn (mail: ReceivedMail): { code: string, userId: string } {
  const code = /^ +(\d{6})$/m.exec(mail.text)?.[1]
  const userId = /\/auth\/activate\/([0-9a-f-]{36})$/m.exec(mail.text)?.[1]
  if (code === undefined || userId === undefined) throw new Error(`no code or link in:\n${mail.raw}`)

  return { code, userId }
}
