import { Agent, FormData, request } from 'undici'

/** Response headers as undici gives them: a repeated header is an array, a single one a string. */
export type Headers = Record<string, string | string[] | undefined>

export interface Reply {
  status: number
  headers: Headers
  text: string
  json (): any
}

export interface SendOptions {
  /** `name=value` for the Cookie header. */
  cookie?: string
  json?: unknown
  form?: FormData
  /** A body as is, with its Content-Type. */
  raw?: { body: string | Buffer, type: string }
  headers?: Record<string, string>
}

/** Plain HTTP/1.1 requests to one base URL, on a connection pool of their own. */
export function httpClient (base: string) {
  const agent = new Agent({ connect: { timeout: 30_000 } })

  async function send (method: string, path: string, options: SendOptions = {}): Promise<Reply> {
    const headers: Record<string, string> = { ...options.headers }
    if (options.cookie !== undefined) headers.cookie = options.cookie
    if (options.json !== undefined) headers['content-type'] = 'application/json'
    if (options.raw !== undefined) headers['content-type'] = options.raw.type
    const body = options.json !== undefined ? JSON.stringify(options.json) : options.raw?.body ?? options.form

    const response = await request(new URL(path, base), {
      method: method as 'GET',
      headers,
      body,
      dispatcher: agent,
      headersTimeout: 60_000,
      bodyTimeout: 60_000
    })
    const text = await response.body.text()

    return {
      status: response.statusCode,
      headers: response.headers,
      text,
      json: () => JSON.parse(text)
    }
  }

  return {
    send,
    close: async () => { await agent.close() }
  }
}

/** A multipart body with one `thumbnail` file part. */
export function thumbnailForm (bytes: Buffer, name: string, type: string): FormData {
  const form = new FormData()
  form.append('thumbnail', new Blob([bytes], { type }), name)
  return form
}

/** `sessionid=<id>` from a response's one Set-Cookie header. */
export function sessionCookieOf (reply: Reply): string {
  const header = reply.headers['set-cookie']
  if (typeof header !== 'string') throw new Error(`expected one Set-Cookie, got ${JSON.stringify(header)}`)
  return header.split(';')[0]!
}

/** The value of the counter or histogram `_count` line of `name` whose labels include `labels`. */
export function metricValue (text: string, name: string, labels: string): number {
  const line = text.split('\n').find((candidate) =>
    candidate.startsWith(`${name}{`) && candidate.includes(labels))
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1))
}
