import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { getFreePort, waitForUrl } from '@tessera/testing'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'

const PACKAGE_DIR = fileURLToPath(new URL('..', import.meta.url))
const ADMIN = 'admin@tessera.local'
const COOKIE = /^sessionid=[\w-]{43}; Path=\/; Max-Age=86400; HttpOnly; SameSite=Lax$/
const PORT_KEYS = [
  'GATEWAY_PORT', 'PROFILE_PORT', 'MEDIA_PORT', 'GATEWAY_METRICS_PORT', 'PROFILE_METRICS_PORT',
  'MEDIA_METRICS_PORT', 'EMBEDDED_PG_PORT', 'EMBEDDED_S3_PORT'
] as const

interface Exit {
  code: number | null
  signal: NodeJS.Signals | null
}

interface Stack {
  child: ChildProcess
  readonly stdout: string
  readonly stderr: string
  exited: Promise<Exit>
  readonly running: boolean
}

const runs: Stack[] = []

// `pnpm start` without any of DATABASE_URL, REDIS_URL, S3_ENDPOINT or SMTP_URL: only PATH, HOME,
// the data directory and the ports, so nothing of the test runner's environment leaks in.
function startStack (env: Record<string, string>): Stack {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: PACKAGE_DIR,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? tmpdir(), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group, so that a stack stuck in a failed test goes with its Postgres
    detached: true
  })

  let stdout = ''
  let stderr = ''
  let running = true
  child.stdout?.on('data', (chunk: Buffer) => { stdout += chunk.toString() })
  child.stderr?.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  const exited = once(child, 'exit').then(([code, signal]) => {
    running = false
    return { code, signal } as Exit
  })

  const stack: Stack = {
    child,
    get stdout () { return stdout },
    get stderr () { return stderr },
    get running () { return running },
    exited
  }
  runs.push(stack)
  return stack
}

/** Polls the stack's stdout until `pick` finds something, failing at once if the stack exits. */
async function waitForOutput<T> (stack: Stack, pick: (stdout: string) => T | undefined, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs
  while (true) {
    const found = pick(stack.stdout)
    if (found !== undefined) return found
    if (!stack.running) throw new Error('the stack exited')
    if (Date.now() > deadline) throw new Error(`not in the stack's output within ${timeoutMs} ms`)
    await sleep(100)
  }
}

async function waitUntilUp (stack: Stack, url: string): Promise<void> {
  const exitedEarly = stack.exited.then((exit) => {
    throw new Error(`the stack exited before answering ${url}: ${JSON.stringify(exit)}`)
  })
  // initdb and the first start of Postgres take a while on a busy machine
  await Promise.race([waitForUrl(url, { ok: (status) => status === 200, timeoutMs: 180_000 }), exitedEarly])
}

/** The code and user id of the activation e-mail to `to`, from the JSON line the stack logs. */
function activationMail (stdout: string, to: string): { code: string, userId: string } | undefined {
  for (const line of stdout.split('\n')) {
    if (!line.startsWith('{')) continue
    const { mail } = JSON.parse(line) as { mail?: { to: string, subject: string, text: string } }
    if (mail?.to !== to || mail.subject !== 'Activate your Tessera account') continue

    const code = /^ +(\d{6})$/m.exec(mail.text)?.[1]
    const userId = /\/auth\/activate\/([0-9a-f-]{36})$/m.exec(mail.text)?.[1]
    if (code !== undefined && userId !== undefined) return { code, userId }
  }
  return undefined
}

/**
 * What Ctrl-C in a terminal does: SIGINT to the whole process group, so embedded Postgres (a child
 * in the same group) gets it too and may shut down before the apps have closed their pools.
 */
function ctrlC (stack: Stack): void {
  process.kill(-stack.child.pid!, 'SIGINT')
}

async function portIsClosed (port: number): Promise<boolean> {
  return await new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' })
    socket.once('connect', () => { socket.destroy(); resolve(false) })
    socket.once('error', () => resolve(true))
  })
}

const sdkWarning = /^\(node:\d+\) Warning: NodeVersionSupportWarning: [\s\S]*?to show where the warning was created\)\n/

describe('the embedded stack (pnpm start)', () => {
  const ada = { email: 'ada@example.com', password: 'correct horse battery' }
  const picture = readFile(join(PACKAGE_DIR, 'test/fixtures/picture.png'))
  const env: Record<string, string> = {}
  let dataDir = ''
  let base = ''
  let adminPassword = ''
  let thumbnail = ''
  let dumped = false

  const json = async (response: Response) => ({ status: response.status, body: await response.json() as any })
  const send = (method: string, path: string, body?: unknown, cookie?: string) => fetch(`${base}${path}`, {
    method,
    headers: {
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(cookie === undefined ? {} : { cookie })
    },
    body: body === undefined ? undefined : JSON.stringify(body)
  })
  const login = async (email: string, password: string) => {
    const response = await send('POST', '/users/login/', { email, password })
    const cookies = response.headers.getSetCookie()
    return { ...await json(response), cookies, cookie: cookies[0]?.split(';')[0] ?? '' }
  }

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'tessera-stack-'))
    // As root, embedded Postgres runs as the `postgres` user, which must be able to reach its files
    await chmod(dataDir, 0o755)
    env.TESSERA_DATA_DIR = dataDir

    for (const key of PORT_KEYS) {
      let port = await getFreePort()
      while (Object.values(env).includes(String(port))) port = await getFreePort()
      env[key] = String(port)
    }
    base = `http://127.0.0.1:${env.GATEWAY_PORT}`
  })

  beforeEach(({ onTestFailed }) => {
    onTestFailed(() => {
      if (dumped) return
      dumped = true
      runs.forEach((run, i) => process.stderr.write(
        `\n===== stack run ${i + 1} stdout =====\n${run.stdout}\n===== stderr =====\n${run.stderr}\n`))
    })
  })

  afterAll(async () => {
    for (const run of runs.filter((r) => r.running)) {
      process.kill(-run.child.pid!, 'SIGKILL')
      await run.exited
    }
    if (dataDir !== '') await rm(dataDir, { recursive: true, force: true })
  }, 60_000)

  it('starts on its own, serves the whole flow, and stops cleanly on SIGINT', async () => {
    const stack = startStack(env)
    await waitUntilUp(stack, `${base}/healthcheck/`)
    expect(await json(await fetch(`${base}/healthcheck/`)))
      .toEqual({ status: 200, body: { status: 'available', debug: 'true', version: '0.1.0' } })

    adminPassword = await waitForOutput(stack, (out) =>
      new RegExp(`^ {2}superuser ${ADMIN} created with password: (\\S+)$`, 'm').exec(out)?.[1])
    expect(stack.stdout).toContain(`  s3                     http://127.0.0.1:${env.EMBEDDED_S3_PORT}\n`)

    const registered = await send('POST', '/users/register/', { ...ada, first_name: 'Ada', last_name: 'Lovelace' })
    expect(await json(registered))
      .toEqual({ status: 202, body: { message: 'check your e-mail for the activation code' } })
    const { code, userId } = await waitForOutput(stack, (out) => activationMail(out, ada.email))
    const activated = await send('PUT', `/users/activate/${userId}/`, { token: code })
    expect(await json(activated)).toEqual({ status: 200, body: { message: 'your account has been activated' } })

    const user = await login(ada.email, ada.password)
    expect([user.status, user.cookies.length, user.cookies[0], user.body.id])
      .toEqual([200, 1, expect.stringMatching(COOKIE), userId])

    const admin = await login(ADMIN, adminPassword)
    expect([admin.status, admin.body.is_superuser]).toEqual([200, true])
    const metrics = await json(await send('GET', '/metrics/', undefined, admin.cookie))
    expect([metrics.status, Object.keys(metrics.body.services)]).toEqual([200, ['gateway', 'profile', 'media']])

    const form = new FormData()
    form.append('thumbnail', new Blob([await picture], { type: 'image/png' }), 'picture.png')
    const uploaded = await json(await fetch(`${base}/file/upload/`, {
      method: 'POST', headers: { cookie: user.cookie }, body: form
    }))
    expect(uploaded).toEqual({
      status: 200,
      body: {
        s3_url: `http://127.0.0.1:${env.EMBEDDED_S3_PORT}/tessera/${uploaded.body.key}`,
        key: expect.stringMatching(new RegExp(`^thumbnails/${userId}/[0-9A-Z]{26}_picture\\.png$`)),
        size: (await picture).length,
        content_type: 'image/png'
      }
    })
    thumbnail = uploaded.body.s3_url

    const patched = await json(await send('PATCH', '/users/update-user/', {
      thumbnail, phone_number: '+16502530000', birth_date: '1990-12-10'
    }, user.cookie))
    expect([patched.status, patched.body.thumbnail, patched.body.profile.phone_number, patched.body.profile.birth_date])
      .toEqual([200, thumbnail, '+16502530000', '1990-12-10'])

    ctrlC(stack)
    expect(await stack.exited).toEqual({ code: 0, signal: null })
    expect(stack.stdout.split('\n').slice(-2)).toEqual(['Tessera stopped.', ''])
    expect(stack.stderr.replace(sdkWarning, '')).toBe('')
    // Its Postgres and S3 server stopped with it
    expect([await portIsClosed(Number(env.EMBEDDED_PG_PORT)), await portIsClosed(Number(env.EMBEDDED_S3_PORT))])
      .toEqual([true, true])
  }, 300_000)

  it('starts again on the same data: the user, the profile and the picture are still there', async () => {
    const stack = startStack(env)
    await waitUntilUp(stack, `${base}/healthcheck/`)

    const line = await waitForOutput(stack, (out) => /^ {2}superuser .*$/m.exec(out)?.[0])
    expect(line).toBe(`  superuser ${ADMIN} already exists`)

    const user = await login(ada.email, ada.password)
    expect([user.status, user.body.thumbnail, user.body.profile.phone_number, user.body.profile.birth_date])
      .toEqual([200, thumbnail, '+16502530000', '1990-12-10'])
    expect((await login(ADMIN, adminPassword)).status).toBe(200)
    const object = await fetch(thumbnail)
    expect([object.status, Buffer.from(await object.arrayBuffer())]).toEqual([200, await picture])

    ctrlC(stack)
    expect(await stack.exited).toEqual({ code: 0, signal: null })
  }, 300_000)
})
