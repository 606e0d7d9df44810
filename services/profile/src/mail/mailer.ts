import { setTimeout as sleep } from 'node:timers/promises'
import nodemailer, { type Transporter } from 'nodemailer'
import { accountExistsMessage, activationMessage, passwordResetMessage } from './messages.js'
import type { CodeMessageInput, Message } from './messages.js'

/** The part of a pino logger the mailer uses. */
export interface MailLog {
  info (obj: object, msg?: string): void
  warn (obj: object, msg?: string): void
  error (obj: object, msg?: string): void
}

export interface MailerOptions {
  /** `smtp://user:pass@host:587` or `smtps://...`; without it messages go to the log. */
  smtpUrl?: string
  /** The From header, e.g. `Tessera <no-reply@example.com>`. */
  from: string
  /** Base of the links in messages, e.g. `https://app.example.com`. */
  frontendUrl: string
  log: MailLog
  /** Registers a background send so that shutdown can wait for it. */
  track: (task: Promise<unknown>) => unknown
  /** Tries after the first one for a temporary failure; default 3. */
  retries?: number
  /** Wait before the first retry, doubled before each next one; default 1000 ms. */
  retryDelayMs?: number
  /** Connection, greeting and socket timeout of each try; default 10 000 ms. */
  timeoutMs?: number
}

interface SmtpFailure {
  responseCode?: unknown
}

// 5xx replies are permanent (RFC 5321 §4.2.1): the same message would be refused again
function isPermanent (err: unknown): boolean {
  const code = (err as SmtpFailure | null)?.responseCode
  return typeof code === 'number' && code >= 500 && code < 600
}

/**
 * Sends the service's e-mails in the background: every `send*` returns at once and never throws;
 * failures are retried with backoff and finally logged.
 */
export function createMailer (options: MailerOptions) {
  const { from, frontendUrl, log, track } = options
  const retries = options.retries ?? 3
  const retryDelayMs = options.retryDelayMs ?? 1000
  const timeoutMs = options.timeoutMs ?? 10_000

  const transport = options.smtpUrl === undefined || options.smtpUrl === ''
    ? undefined
    : nodemailer.createTransport({
      url: options.smtpUrl,
      connectionTimeout: timeoutMs,
      greetingTimeout: timeoutMs,
      socketTimeout: timeoutMs
    })

  async function deliver (smtp: Transporter, message: Message): Promise<void> {
    const about = { mail: { to: message.to, subject: message.subject } }

    for (let attempt = 1; ; attempt++) {
      try {
        await smtp.sendMail({ from, ...message })
        log.info({ ...about, attempt }, 'e-mail sent')
        return
      } catch (err) {
        if (isPermanent(err) || attempt > retries) {
          log.error({ ...about, attempt, err }, 'e-mail could not be sent')
          return
        }
        log.warn({ ...about, attempt, err }, 'e-mail failed, will retry')
        await sleep(retryDelayMs * 2 ** (attempt - 1))
      }
    }
  }

  function send (message: Message): void {
    if (transport === undefined) {
      // Development without SMTP: the text, code and link included, is how one reads the e-mail
      log.info({ mail: message }, 'e-mail not sent (no SMTP_URL), logged instead')
      return
    }

    track(deliver(transport, message))
  }

  return {
    /** The 6-digit code and the link `<frontendUrl>/auth/activate/<id>`. */
    sendActivation (input: CodeMessageInput): void {
      send(activationMessage(frontendUrl, input))
    },

    /** The 6-digit code and the link `<frontendUrl>/auth/password/change/<id>`. */
    sendPasswordReset (input: CodeMessageInput): void {
      send(passwordResetMessage(frontendUrl, input))
    },

    /** Tells the owner of an active account that someone registered with their address. */
    sendAccountExists (to: string): void {
      send(accountExistsMessage(frontendUrl, to))
    },

    /** Closes the SMTP transport; call after the tracked sends have drained. */
    close (): void {
      transport?.close()
    }
  }
}

export type Mailer = ReturnType<typeof createMailer>
