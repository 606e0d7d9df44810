import { spawn, type ChildProcess } from 'node:child_process'
import { closeSync, openSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'

export interface ChildOptions {
  name: string
  /** Working directory; `entry` is relative to it. */
  cwd: string
  entry: string
  env: Record<string, string>
  /** stdout and stderr go to `<logDir>/<name>.log`, so a busy logger costs this process nothing. */
  logDir: string
  /** Extra node flags, e.g. `--cpu-prof`. */
  nodeFlags?: string[]
}

export interface Child {
  name: string
  pid: number
  logFile: string
  process: ChildProcess
  /** The last lines of its log, for error messages. */
  tail (lines?: number): string
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once it has exited. */
  stop (graceMs?: number): Promise<void>
}

// The child's own environment: nothing of the caller's leaks in beyond what running node needs.
const PASSED_THROUGH = ['PATH', 'HOME', 'TMPDIR', 'LANG', 'TZ', 'UV_THREADPOOL_SIZE']

export function startChild (options: ChildOptions): Child {
  const logFile = join(options.logDir, `${options.name}.log`)
  const fd = openSync(logFile, 'a')
  const env: Record<string, string> = {}
  for (const key of PASSED_THROUGH) {
    if (process.env[key] !== undefined) env[key] = process.env[key]
  }

  const args = [...options.nodeFlags ?? [], '--import', 'tsx', options.entry]
  const child = spawn(process.execPath, args, {
    cwd: options.cwd,
    env: { ...env, ...options.env },
    stdio: ['ignore', fd, fd]
  })
  closeSync(fd)
  if (child.pid === undefined) throw new Error(`${options.name} did not start`)

  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve()
    else child.once('exit', () => resolve())
  })

  const tail = (lines = 8) => {
    try {
      const last = readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-lines)
      return last.map((line) => line.length > 400 ? `${line.slice(0, 400)}…` : line).join('\n')
    } catch {
      return '(no log)'
    }
  }

  const stop = async (graceMs = 10_000) => {
    if (child.exitCode !== null || child.signalCode !== null) return
    child.kill('SIGTERM')
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
    await exited
    clearTimeout(timer)
  }

  return { name: options.name, pid: child.pid, logFile, process: child, tail, stop }
}

/** Polls `url` until it answers 200; fails early, with the log's tail, if the child exits. */
export async function waitUntilReady (child: Child, url: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs

  while (true) {
    if (child.process.exitCode !== null || child.process.signalCode !== null) {
      throw new Error(`${child.name} exited (${child.process.exitCode ?? child.process.signalCode}):\n${child.tail()}`)
    }

    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2000) })
      await response.body?.cancel()
      if (response.status === 200) return
    } catch {
      // Not listening yet.
    }

    if (Date.now() > deadline) {
      throw new Error(`${child.name} was not ready at ${url} within ${timeoutMs} ms:\n${child.tail()}`)
    }
    await sleep(100)
  }
}

/** Resolves with the JSON a child writes to `file` once it is up; fails early if the child exits. */
export async function waitForJsonFile<T> (child: Child, file: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs

  while (true) {
    if (child.process.exitCode !== null || child.process.signalCode !== null) {
      throw new Error(`${child.name} exited (${child.process.exitCode ?? child.process.signalCode}):\n${child.tail()}`)
    }

    try {
      return JSON.parse(readFileSync(file, 'utf8')) as T
    } catch {
      // Not written yet.
    }

    if (Date.now() > deadline) throw new Error(`${child.name} wrote no ${file} within ${timeoutMs} ms:\n${child.tail()}`)
    await sleep(100)
  }
}
