import { Agent, request } from 'undici'

/** A service behind the gateway: its replicas, handed out round-robin. */
export interface Upstream {
  name: string
  urls: string[]
  /** The replicas to try for one request: the next in turn first, then the others. */
  order (): string[]
}

export function createUpstream (name: string, urls: string[]): Upstream {
  if (urls.length === 0) throw new Error(`no URL for the ${name} service`)
  const bases = urls.map((url) => url.replace(/\/+$/, ''))
  let turn = 0

  return {
    name,
    urls: bases,
    order () {
      const start = turn
      turn = (turn + 1) % bases.length
      return bases.map((_url, i) => bases[(start + i) % bases.length]!)
    }
  }
}

export interface Upstreams {
  profile: Upstream
  media: Upstream
}

const MAX_INTERNAL_BODY = 4 * 1024 * 1024

/**
 * The gateway's own calls to the services (readiness, metrics, OpenAPI documents): short
 * timeouts, small bodies, on a connection pool of their own that closes with the app.
 */
export function createInternalClient (timeoutMs: number) {
  const agent = new Agent({ connect: { timeout: timeoutMs } })

  async function get (url: string, headers: Record<string, string>): Promise<Buffer> {
    const response = await request(url, {
      dispatcher: agent,
      headers,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      signal: AbortSignal.timeout(timeoutMs)
    })
    if (response.statusCode !== 200) {
      await response.body.dump()
      throw new Error(`${url} answered ${response.statusCode}`)
    }

    const chunks: Buffer[] = []
    let size = 0
    for await (const chunk of response.body) {
      size += (chunk as Buffer).length
      if (size > MAX_INTERNAL_BODY) {
        response.body.destroy()
        throw new Error(`${url} sent more than ${MAX_INTERNAL_BODY} bytes`)
      }
      chunks.push(chunk as Buffer)
    }
    return Buffer.concat(chunks)
  }

  return {
    /** Resolves when `url` answers 200; rejects on anything else. */
    async check (url: string): Promise<void> {
      await get(url, {})
    },

    /** The JSON body of a 200 answer from `url`; rejects on any other status or bad JSON. */
    async getJson (url: string, headers: Record<string, string> = {}): Promise<unknown> {
      const body = await get(url, { accept: 'application/json', ...headers })
      return JSON.parse(body.toString('utf8'))
    },

    async close (): Promise<void> {
      await agent.close()
    }
  }
}

export type InternalClient = ReturnType<typeof createInternalClient>
