import { connect, createServer } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'

export interface WaitOptions {
  /** Give up after this long; default 10 000 ms. */
  timeoutMs?: number
  /** Pause between attempts; default 100 ms. */
  intervalMs?: number
}

/**
 * A TCP port that is free on `host` right now. Another process may still take it before the
 * caller binds it; the window is short enough for tests.
 */
export async function getFreePort (host = '127.0.0.1'): Promise<number> {
  const server = createServer()

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen({ port: 0, host, exclusive: true }, resolve)
  })

  const address = server.address()
  await new Promise<void>((resolve) => server.close(() => resolve()))

  if (!address || typeof address === 'string') throw new Error(`No TCP port on ${host}`)
  return address.port
}

function canConnect (port: number, host: string, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host })
    const done = (ok: boolean) => {
      socket.destroy()
      resolve(ok)
    }

    socket.setTimeout(timeoutMs, () => done(false))
    socket.once('connect', () => done(true))
    socket.once('error', () => done(false))
  })
}

async function poll (
  what: string,
  attempt: (msLeft: number) => Promise<boolean>,
  options: WaitOptions
): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 10_000
  const intervalMs = options.intervalMs ?? 100
  const deadline = Date.now() + timeoutMs

  while (true) {
    const left = deadline - Date.now()
    if (left > 0 && await attempt(left)) return

    if (Date.now() + intervalMs >= deadline) {
      throw new Error(`${what} did not answer within ${timeoutMs} ms`)
    }
    await sleep(intervalMs)
  }
}

/** Resolves once something accepts TCP connections on `host:port`. */
export async function waitForPort (
  port: number,
  options: WaitOptions & { host?: string } = {}
): Promise<void> {
  const host = options.host ?? '127.0.0.1'
  await poll(`${host}:${port}`, (left) => canConnect(port, host, Math.min(left, 1000)), options)
}

/**
 * Resolves with the status of the first HTTP response from `url`. Any status counts as an
 * answer unless `ok` says otherwise (a readiness probe may answer 503 for a while).
 */
export async function waitForUrl (
  url: string | URL,
  options: WaitOptions & { ok?: (status: number) => boolean } = {}
): Promise<number> {
  const ok = options.ok ?? (() => true)
  let status = 0

  await poll(String(url), async (left) => {
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(Math.min(left, 2000)) })
      await response.body?.cancel()
      status = response.status
      return ok(status)
    } catch {
      return false
    }
  }, options)

  return status
}
