import { Agent, request } from 'undici'

export interface Answer {
  status: number
  headers: Record<string, string | string[] | undefined>
  /** The parsed JSON body, or the text when it is not JSON, or null when empty. */
  body: any
  text: string
  /** Milliseconds from sending to the end of the body. */
  ms: number
}

export interface SendOptions {
  headers?: Record<string, string>
  /** Sent as JSON with its content type. */
  json?: unknown
  body?: string | Buffer | Uint8Array
  timeoutMs?: number
}

export interface Client {
  send (method: string, path: string, options?: SendOptions): Promise<Answer>
  /** Closes the connections it holds. */
  close (): Promise<void>
}

/**
 * An HTTP client on its own connection pool, whose every request is bounded: a server that
 * hangs makes the test fail with a timeout instead of hanging it.
 */
export function createClient (baseUrl: string, options: { connections?: number, timeoutMs?: number } = {}): Client {
  const agent = new Agent({ connections: options.connections ?? 16, keepAliveTimeout: 4000 })
  const defaultTimeout = options.timeoutMs ?? 15_000

  return {
    async send (method, path, opts = {}) {
      const headers: Record<string, string> = { ...opts.headers }
      let body = opts.body
      if (opts.json !== undefined) {
        headers['content-type'] ??= 'application/json'
        body = JSON.stringify(opts.json)
      }

      const timeout = opts.timeoutMs ?? defaultTimeout
      const started = performance.now()
      const response = await request(baseUrl + path, {
        method: method as 'GET',
        headers,
        body,
        dispatcher: agent,
        headersTimeout: timeout,
        bodyTimeout: timeout,
        signal: AbortSignal.timeout(timeout)
      })
      const text = await response.body.text()
      const ms = performance.now() - started

      let parsed: unknown = null
      if (text !== '') {
        try {
          parsed = JSON.parse(text)
        } catch {
          parsed = text
        }
      }
      return { status: response.statusCode, headers: response.headers, body: parsed, text, ms }
    },

    async close () {
      await agent.close()
    }
  }
}

/** The `name=value` of the first Set-Cookie of an answer, for a Cookie header. */
export function cookieOf (answer: Answer): string {
  const header = [answer.headers['set-cookie'] ?? []].flat()[0]
  if (header === undefined) throw new Error(`no Set-Cookie in a ${answer.status} answer: ${answer.text}`)
  return header.split(';')[0]!
}
