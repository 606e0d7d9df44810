import autocannon, { type Request, type Result } from 'autocannon'
import { percentile, Samples } from './stats.js'

export interface LoadOptions {
  /** Base URL of the server; `path` is added to it. */
  url: string
  method?: string
  path: string
  headers?: Record<string, string>
  body?: string
  /** Per request, headers to add (e.g. the next user's cookie). */
  headersFor?: () => Record<string, string>
  /** Per request, the body (e.g. the next user's credentials). */
  bodyFor?: () => string
  connections: number
  durationSeconds: number
  /** Requests per second over all connections; unset: as fast as the server answers. */
  rate?: number
}

export interface LoadResult {
  /** 2xx responses per second of the run. */
  rps: number
  responses: number
  /** Latency percentiles of the 2xx responses, ms, at full resolution. */
  p50: number
  p99: number
  durationMs: number
}

/**
 * One bounded autocannon run. Anything but 2xx (a rate limit, an expired session, a 5xx) or a
 * socket error makes the figure meaningless, so it fails the run with the status counts.
 */
export async function runLoad (options: LoadOptions): Promise<LoadResult> {
  const latencies = new Samples()
  const request: Request = {
    method: options.method ?? 'GET',
    path: options.path,
    headers: options.headers ?? {},
    ...(options.body === undefined ? {} : { body: options.body })
  }
  const { headersFor, bodyFor } = options
  if (headersFor !== undefined || bodyFor !== undefined) {
    request.setupRequest = (built) => ({
      ...built,
      ...(headersFor === undefined ? {} : { headers: { ...options.headers, ...headersFor() } }),
      ...(bodyFor === undefined ? {} : { body: bodyFor() })
    })
  }

  const startedAt = performance.now()
  const result = await new Promise<Result>((resolve, reject) => {
    const instance = autocannon({
      url: options.url,
      connections: options.connections,
      duration: options.durationSeconds,
      timeout: 10,
      requests: [request],
      ...(options.rate === undefined ? {} : { overallRate: options.rate })
    }, (error, done) => error === null ? resolve(done) : reject(error))

    instance.on('response', (_client: unknown, status: number, _bytes: number, ms: number) => {
      if (status >= 200 && status < 300) latencies.push(ms)
    })
  })
  const durationMs = performance.now() - startedAt

  const failed = result.non2xx + result.errors + result.timeouts
  if (failed > 0) {
    const statuses = Object.entries(result.statusCodeStats)
      .map(([code, stats]) => `${code}×${stats.count}`).join(' ')
    throw new Error(`${options.method ?? 'GET'} ${options.path}: ${result.non2xx} non-2xx ` +
      `(${statuses}), ${result.errors} errors, ${result.timeouts} timeouts`)
  }

  const sorted = latencies.sorted()
  return {
    rps: result['2xx'] / (durationMs / 1000),
    responses: result['2xx'],
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    durationMs
  }
}
