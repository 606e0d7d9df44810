import { once } from 'node:events'
import { connect, createServer, type Server, type Socket } from 'node:net'

export interface TcpTarget {
  host?: string
  port: number
}

export interface TcpProxy {
  /** The port it listens on; the same again after `up()`. */
  readonly port: number
  /** Client connections open right now. */
  readonly connections: number
  /** Client connections accepted since the start. */
  readonly accepted: number
  /** `up`, `down` (refusing connections) or `stalled` (accepting, but passing no byte). */
  readonly state: 'up' | 'down' | 'stalled'
  /** `target`'s URL with the host and port replaced by the proxy's. */
  url (target: string): string
  /** The part "goes down": the listener closes and every connection through it is destroyed. */
  down (): Promise<void>
  /** It "comes back": listening again on the same port, new connections forwarded again. */
  up (): Promise<void>
  /**
   * A network partition: open connections stop passing bytes, new ones are accepted and held
   * without a byte either. `up()` lets the held bytes through again.
   */
  stall (): void
  close (): Promise<void>
}

interface Pair {
  client: Socket
  upstream?: Socket
}

/**
 * A TCP forwarder the test controls, put between a service and a real server (Postgres, Redis,
 * S3, another service) so that the server can be taken away and given back without touching it.
 */
export async function startTcpProxy (target: TcpTarget, options: { port?: number } = {}): Promise<TcpProxy> {
  const host = target.host ?? '127.0.0.1'
  const pairs = new Set<Pair>()
  let accepted = 0
  let state: TcpProxy['state'] = 'up'
  let server: Server | undefined
  let port = options.port ?? 0

  const join = (pair: Pair): void => {
    if (pair.upstream === undefined) {
      const upstream = connect({ host, port: target.port })
      pair.upstream = upstream
      upstream.on('error', () => pair.client.destroy())
      upstream.on('close', () => pair.client.destroy())
      pair.client.on('close', () => upstream.destroy())
    }
    pair.client.pipe(pair.upstream)
    pair.upstream.pipe(pair.client)
    pair.client.resume()
    pair.upstream.resume()
  }

  const hold = (pair: Pair): void => {
    pair.client.unpipe()
    pair.upstream?.unpipe()
    pair.client.pause()
    pair.upstream?.pause()
  }

  const onConnection = (client: Socket): void => {
    accepted++
    const pair: Pair = { client }
    pairs.add(pair)
    client.on('error', () => {})
    client.on('close', () => pairs.delete(pair))

    if (state === 'stalled') client.pause()
    else join(pair)
  }

  const listen = async (): Promise<void> => {
    const next = createServer({ noDelay: true }, onConnection)
    next.listen(port, '127.0.0.1')
    await once(next, 'listening')
    server = next
    port = (next.address() as { port: number }).port
  }

  const stopListening = async (): Promise<void> => {
    const closing = server
    server = undefined
    for (const pair of pairs) {
      pair.client.destroy()
      pair.upstream?.destroy()
    }
    pairs.clear()
    if (closing !== undefined) await new Promise<void>((resolve) => closing.close(() => resolve()))
  }

  await listen()

  return {
    get port () { return port },
    get connections () { return pairs.size },
    get accepted () { return accepted },
    get state () { return state },

    url (given: string): string {
      const parsed = new URL(given)
      parsed.hostname = '127.0.0.1'
      parsed.port = String(port)
      return parsed.toString().replace(/\/$/, given.endsWith('/') ? '/' : '')
    },

    async down () {
      state = 'down'
      await stopListening()
    },

    async up () {
      const wasStalled = state === 'stalled'
      state = 'up'
      if (server === undefined) await listen()
      if (wasStalled) for (const pair of pairs) join(pair)
    },

    stall () {
      state = 'stalled'
      for (const pair of pairs) hold(pair)
    },

    async close () {
      state = 'down'
      await stopListening()
    }
  }
}
