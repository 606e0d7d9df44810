import { createHash } from 'node:crypto'
import { Readable } from 'node:stream'
import type { S3Client } from '@aws-sdk/client-s3'

export const MiB = 1024 * 1024

export function sha256 (data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex')
}

/**
 * A byte stream over `data` that sends only as far as it is allowed to, then waits: a client
 * whose upload is in progress. `fail` ends it the way a dropped connection does.
 */
export class ControlledSource extends Readable {
  private sent = 0
  private allowed = 0
  private wanted = false

  constructor (private readonly data: Buffer, private readonly chunkSize = 64 * 1024) {
    super()
  }

  /** Lets the stream send up to `bytes` bytes in total (all of them when omitted). */
  allow (bytes = this.data.length): this {
    this.allowed = Math.min(bytes, this.data.length)
    this.pump()
    return this
  }

  fail (error: Error = Object.assign(new Error('aborted'), { code: 'ECONNRESET' })) {
    this.destroy(error)
  }

  override _read () {
    this.wanted = true
    this.pump()
  }

  private pump () {
    while (this.wanted && this.sent < this.allowed) {
      const end = Math.min(this.allowed, this.sent + this.chunkSize)
      this.wanted = this.push(this.data.subarray(this.sent, end))
      this.sent = end
    }

    if (this.wanted && this.sent === this.data.length) this.push(null)
  }
}

/** The whole of `data`, in chunks of `chunkSize`. */
export function byteStream (data: Buffer, chunkSize?: number): ControlledSource {
  return new ControlledSource(data, chunkSize).allow()
}

/** `data` one byte at a time, each on a later turn of the event loop: a very slow socket. */
export function tricklingStream (data: Buffer): Readable {
  let at = 0

  return new Readable({
    read () {
      setImmediate(() => this.push(at < data.length ? data.subarray(at, ++at) : null))
    }
  })
}

interface SentCommand {
  name: string
  input: Record<string, unknown>
}

/**
 * Records the commands a client sends (when they start and when they are answered) and lets a
 * test wait for one. Optionally changes requests or answers to inject a fault.
 */
export function watchCommands (client: S3Client, fault?: {
  before?: (name: string, input: Record<string, unknown>) => void
  after?: (name: string, input: Record<string, unknown>) => void
}) {
  const name = `watch-${Math.random()}`
  const sent: SentCommand[] = []
  const answered: string[] = []
  const waiting: Array<{ command: string, resolve: () => void }> = []

  client.middlewareStack.add((next, context) => async (args) => {
    const command = context.commandName ?? ''
    const input = args.input as Record<string, unknown>
    sent.push({ name: command, input })
    fault?.before?.(command, input)

    const output = await next(args)
    answered.push(command)
    for (const waiter of waiting.filter((w) => w.command === command)) waiter.resolve()

    fault?.after?.(command, input)
    return output
  }, { step: 'initialize', name })

  return {
    /** Names of the commands sent, in order. */
    get names () {
      return sent.map((command) => command.name)
    },
    sent,
    answered,
    /** Resolves when a command of this name has been answered (at once if one was). */
    answeredOnce (command: string): Promise<void> {
      if (answered.includes(command)) return Promise.resolve()
      return new Promise((resolve) => waiting.push({ command, resolve }))
    },
    stop () {
      client.middlewareStack.remove(name)
    }
  }
}
