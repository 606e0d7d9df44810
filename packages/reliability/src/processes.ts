import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { getFreePort, waitForUrl } from '@tessera/testing'
import { createLogSink, type LogLine, type LogSink } from './logs.js'
import type { Env } from './stack.js'

export type ServiceName = 'gateway' | 'profile' | 'media'

export interface Exit {
  code: number | null
  signal: NodeJS.Signals | null
}

export interface ServiceProcess {
  name: ServiceName
  port: number
  url: string
  child: ChildProcess
  /** Its pino lines: e-mails, warnings and errors. */
  logs: LogSink
  exited: Promise<Exit>
  /** Resolves with the first log line that `matches`, or rejects when the process exits first. */
  logged (matches: (line: LogLine) => boolean): Promise<LogLine>
  /** SIGKILLs it if it still runs. */
  kill (): Promise<Exit>
}

const running = new Set<ChildProcess>()

/** Every service process still running, for an afterAll that must leave none behind. */
export async function killAll (): Promise<void> {
  await Promise.all([...running].map(async (child) => {
    child.kill('SIGKILL')
    if (child.exitCode === null && child.signalCode === null) await once(child, 'exit')
  }))
}

function serviceDir (name: ServiceName): string {
  return fileURLToPath(new URL(`../../../services/${name}/`, import.meta.url))
}

/**
 * Runs a service as production does, `node --import tsx src/server.ts`, with only `env` (no
 * inherited DATABASE_URL or REDIS_URL), on `port` or a free one, and waits for `/livez`.
 */
export async function startService (name: ServiceName, env: Env, port?: number): Promise<ServiceProcess> {
  const listenPort = port ?? await getFreePort()
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    cwd: serviceDir(name),
    env: {
      PATH: process.env.PATH ?? '',
      NODE_NO_WARNINGS: '1',
      HOST: '127.0.0.1',
      PORT: String(listenPort),
      METRICS_PORT: '0',
      COOKIE_SECURE: 'false',
      LOG_LEVEL: 'info',
      ...env
    },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  running.add(child)

  const logs = createLogSink()
  const watchers = new Set<{ matches: (line: LogLine) => boolean, resolve: (line: LogLine) => void }>()
  let pending = ''
  let stderr = ''
  child.stdout?.on('data', (chunk: Buffer) => {
    const lines = (pending + chunk.toString('utf8')).split('\n')
    pending = lines.pop() ?? ''
    for (const text of lines) {
      logs.stream.write(text)
      let line: LogLine
      try {
        line = JSON.parse(text) as LogLine
      } catch {
        continue
      }
      for (const watcher of watchers) {
        if (watcher.matches(line)) {
          watchers.delete(watcher)
          watcher.resolve(line)
        }
      }
    }
  })
  child.stderr?.on('data', (chunk: Buffer) => { stderr += chunk.toString('utf8') })

  const exited = once(child, 'exit').then(([code, signal]) => {
    running.delete(child)
    return { code, signal } as Exit
  })

  const url = `http://127.0.0.1:${listenPort}`
  const started = waitForUrl(`${url}/livez`, { ok: (status) => status === 200, timeoutMs: 30_000 })
  await Promise.race([started, exited.then((exit) => {
    throw new Error(`${name} exited at start-up (${JSON.stringify(exit)}): ${stderr}`)
  })])

  return {
    name,
    port: listenPort,
    url,
    child,
    logs,
    exited,
    logged (matches) {
      return new Promise((resolve, reject) => {
        watchers.add({ matches, resolve })
        exited.then(() => reject(new Error(`${name} exited before the awaited log line`)), () => {})
      })
    },
    async kill () {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
      return await exited
    }
  }
}
