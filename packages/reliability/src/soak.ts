import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { createClient, type Answer } from './client.js'
import { pngOfSize, thumbnailForm } from './forms.js'
import type { Stack } from './stack.js'
import { activeUser, logIn, type SignedInUser } from './users.js'
import { sleep } from './wait.js'

export interface SoakOptions {
  durationMs: number
  /** Workers, each a user of its own doing one request after another. */
  concurrency: number
  /** How often memory, pool and sockets are sampled; default 1000 ms. */
  sampleEveryMs?: number
  /** Told of each sample as it is taken, e.g. to print progress. */
  onSample?: (sample: Sample) => void
}

export interface Sample {
  atMs: number
  requests: number
  rss: number
  /** Heap in use right after a full collection: what is still referenced. */
  heapAfterGc: number
  pool: { total: number, idle: number, waiting: number }
  sockets: Sockets
}

/** Open connections through each proxy of the stack, and into the gateway. */
export interface Sockets {
  postgres: number
  redis: number
  s3: number
  profile: number
  media: number
  gateway: number
}

export interface SoakReport {
  durationMs: number
  concurrency: number
  requests: number
  byOperation: Record<string, number>
  errors: number
  /** The first few failures, as `operation status body`. */
  errorSamples: string[]
  requestsPerSecond: number
  latencyMs: { p50: number, p99: number, max: number }
  rss: { start: number, end: number, max: number }
  heapAfterGc: { start: number, end: number }
  /** Least-squares slope of the post-GC heap over the run's second half, in MiB per minute. */
  heapSlopeMiBPerMinute: number
  /** After the load stopped and its client closed. */
  settled: { pool: Sample['pool'], sockets: Sockets }
  samples: Sample[]
  /** Users whose stored row differs from what their last acknowledged request made it. */
  lost: string[]
  /** Objects no user's row points at, and incomplete multipart uploads. */
  orphans: string[]
}

interface Model {
  first_name: string
  last_name: string
  thumbnail: string | null
  phone_number: string | null
  birth_date: string | null
  github_link: string | null
}

interface Worker {
  user: SignedInUser
  model: Model
}

const PHONES = ['+16502530000', '+442079460000', '+33142685300', null]
const BIRTH_DATES = ['1990-01-31', '2000-02-29', '1985-12-25', null]
const GITHUB = ['https://github.com/octocat', 'https://github.com/torvalds', null]

// A collection before each sample, so the heap figures are what is still referenced.
function exposedGc (): () => void {
  setFlagsFromString('--expose-gc')
  return runInNewContext('gc') as () => void
}

const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)]!

function percentile (sorted: number[], p: number): number {
  if (sorted.length === 0) return 0
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!
}

function slopePerMinute (points: Array<[number, number]>): number {
  const n = points.length
  if (n < 2) return 0
  const meanX = points.reduce((sum, [x]) => sum + x, 0) / n
  const meanY = points.reduce((sum, [, y]) => sum + y, 0) / n
  let num = 0
  let den = 0
  for (const [x, y] of points) {
    num += (x - meanX) * (y - meanY)
    den += (x - meanX) ** 2
  }
  return den === 0 ? 0 : (num / den) * 60_000 / (1024 * 1024)
}

async function gatewayConnections (stack: Stack): Promise<number> {
  return await new Promise((resolve, reject) => {
    stack.apps.gateway.server.getConnections((err, count) => err ? reject(err) : resolve(count))
  })
}

async function sockets (stack: Stack): Promise<Sockets> {
  const { proxies } = stack
  return {
    postgres: proxies.postgres.connections,
    redis: proxies.redis.connections,
    s3: proxies.s3.connections,
    profile: proxies.profile.connections,
    media: proxies.media.connections,
    gateway: await gatewayConnections(stack)
  }
}

function poolOf (stack: Stack): Sample['pool'] {
  const pool = stack.profilePool
  return { total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }
}

/**
 * Mixed load through the gateway at steady concurrency: reads of the current user, PATCHes of
 * random fields, and thumbnail swaps (upload, point the profile at it, delete the old one). Each
 * worker keeps a model of what its user must look like and checks every answer against it; at
 * the end the rows must equal the models and the bucket must hold exactly the thumbnails the
 * rows point at.
 */
export async function runSoak (stack: Stack, options: SoakOptions): Promise<SoakReport> {
  const sampleEveryMs = options.sampleEveryMs ?? 1000
  const collect = exposedGc()
  const setup = createClient(stack.urls.gateway)
  const workers: Worker[] = []
  for (let i = 0; i < options.concurrency; i++) {
    const user = await logIn(setup, await activeUser(stack, `soak-${i}-${Date.now()}@example.com`))
    workers.push({
      user,
      model: { first_name: 'Ada', last_name: 'Lovelace', thumbnail: null, phone_number: null, birth_date: null, github_link: null }
    })
  }
  await setup.close()

  const client = createClient(stack.urls.gateway, { connections: options.concurrency })
  const byOperation: Record<string, number> = {}
  const latencies: number[] = []
  const errorSamples: string[] = []
  let requests = 0
  let errors = 0

  const record = (operation: string, answer: Answer, ok: boolean) => {
    requests++
    byOperation[operation] = (byOperation[operation] ?? 0) + 1
    latencies.push(answer.ms)
    if (ok) return
    errors++
    if (errorSamples.length < 10) errorSamples.push(`${operation} ${answer.status} ${answer.text.slice(0, 200)}`)
  }
  const failed = (operation: string, err: unknown) => {
    requests++
    errors++
    if (errorSamples.length < 10) errorSamples.push(`${operation} threw ${(err as Error).message}`)
  }

  const matches = (body: any, model: Model) =>
    body?.first_name === model.first_name && body.last_name === model.last_name &&
    body.thumbnail === model.thumbnail && body.profile?.phone_number === model.phone_number &&
    body.profile?.birth_date === model.birth_date && body.profile?.github_link === model.github_link

  async function step (worker: Worker): Promise<void> {
    const headers = { cookie: worker.user.cookie }
    const roll = Math.random()

    if (roll < 0.4) {
      const answer = await client.send('GET', '/users/current-user/', { headers })
      record('current-user', answer, answer.status === 200 && matches(answer.body, worker.model))
      return
    }

    if (roll < 0.75) {
      const change: Partial<Model> = {}
      if (Math.random() < 0.5) change.first_name = `Name${Math.floor(Math.random() * 1e6)}`
      if (Math.random() < 0.3) change.last_name = `Surname${Math.floor(Math.random() * 1e6)}`
      if (Math.random() < 0.5) change.phone_number = pick(PHONES)
      if (Math.random() < 0.4) change.birth_date = pick(BIRTH_DATES)
      if (Math.random() < 0.4) change.github_link = pick(GITHUB)
      const answer = await client.send('PATCH', '/users/update-user/', { headers, json: change })
      const expected = { ...worker.model, ...change }
      const ok = answer.status === 200 && matches(answer.body, expected)
      if (answer.status === 200) worker.model = expected
      record('patch', answer, ok)
      return
    }

    const form = thumbnailForm(pngOfSize(100 + Math.floor(Math.random() * 64 * 1024)))
    const uploaded = await client.send('POST', '/file/upload/', {
      headers: { ...headers, 'content-type': form.contentType }, body: form.body
    })
    record('upload', uploaded, uploaded.status === 200)
    if (uploaded.status !== 200) return

    const url = uploaded.body.s3_url as string
    const pointed = await client.send('PATCH', '/users/update-user/', { headers, json: { thumbnail: url } })
    const old = worker.model.thumbnail
    const expected = { ...worker.model, thumbnail: url }
    if (pointed.status === 200) worker.model = expected
    record('patch-thumbnail', pointed, pointed.status === 200 && matches(pointed.body, expected))
    if (pointed.status !== 200 || old === null) return

    const deleted = await client.send('DELETE', '/file/delete/', { headers, json: { thumbnail_url: old } })
    record('delete', deleted, deleted.status === 204)
  }

  const samples: Sample[] = []
  const started = Date.now()
  const sample = async () => {
    collect()
    const memory = process.memoryUsage()
    const taken: Sample = {
      atMs: Date.now() - started,
      requests,
      rss: memory.rss,
      heapAfterGc: memory.heapUsed,
      pool: poolOf(stack),
      sockets: await sockets(stack)
    }
    samples.push(taken)
    options.onSample?.(taken)
  }

  await sample()
  const deadline = started + options.durationMs
  const load = { running: true }
  const sampler = (async () => {
    while (load.running) {
      await sleep(sampleEveryMs)
      if (load.running) await sample()
    }
  })()
  await Promise.all(workers.map(async (worker) => {
    while (Date.now() < deadline) {
      try {
        await step(worker)
      } catch (err) {
        failed('request', err)
      }
    }
  }))
  load.running = false
  await sampler
  await sample()
  const durationMs = Date.now() - started

  await client.close()
  const settled = await settle(stack)
  const { lost, orphans } = await audit(stack, workers)

  const sorted = [...latencies].sort((a, b) => a - b)
  const half = samples.filter((taken) => taken.atMs >= durationMs / 2)
  const memory = samples.map((taken) => taken.rss)
  return {
    durationMs,
    concurrency: options.concurrency,
    requests,
    byOperation,
    errors,
    errorSamples,
    requestsPerSecond: Math.round(requests / (durationMs / 1000)),
    latencyMs: {
      p50: Math.round(percentile(sorted, 0.5)),
      p99: Math.round(percentile(sorted, 0.99)),
      max: Math.round(sorted.at(-1) ?? 0)
    },
    rss: { start: samples[0]!.rss, end: samples.at(-1)!.rss, max: Math.max(...memory) },
    heapAfterGc: { start: samples[0]!.heapAfterGc, end: samples.at(-1)!.heapAfterGc },
    heapSlopeMiBPerMinute: Math.round(slopePerMinute(half.map((taken) => [taken.atMs, taken.heapAfterGc])) * 100) / 100,
    settled,
    samples,
    lost,
    orphans
  }
}

/** Waits (bounded) until the gateway holds no client connection any more, then reads the figures. */
async function settle (stack: Stack) {
  for (let i = 0; i < 50 && await gatewayConnections(stack) > 0; i++) await sleep(100)
  return { pool: poolOf(stack), sockets: await sockets(stack) }
}

async function audit (stack: Stack, workers: Worker[]) {
  const lost: string[] = []
  const referenced = new Set<string>()
  for (const { user, model } of workers) {
    const { rows } = await stack.db.pool.query(`SELECT u.first_name, u.last_name, u.thumbnail, p.phone_number,
      to_char(p.birth_date, 'YYYY-MM-DD') AS birth_date, p.github_link
      FROM users u JOIN user_profile p ON p.user_id = u.id WHERE u.id = $1`, [user.id])
    if (JSON.stringify(rows[0]) !== JSON.stringify(model)) {
      lost.push(`${user.email}: stored ${JSON.stringify(rows[0])}, acknowledged ${JSON.stringify(model)}`)
    }
    if (model.thumbnail !== null) referenced.add(model.thumbnail.slice(stack.publicUrl.length))
  }

  const objects = await stack.s3.listObjects()
  const orphans = objects.filter((key) => !referenced.has(key))
  for (const key of referenced) if (!objects.includes(key)) lost.push(`object ${key} is gone`)
  for (const upload of await stack.s3.listMultipartUploads()) orphans.push(`incomplete upload of ${upload.key}`)
  return { lost, orphans }
}
