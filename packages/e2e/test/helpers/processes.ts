import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { waitForUrl } from '@tessera/testing'

export interface Exit {
  code: number | null
  signal: NodeJS.Signals | null
}

export interface ServiceProcess {
  name: string
  child: ChildProcess
  /** What the process wrote so far. */
  readonly stdout: string
  readonly stderr: string
  /** Resolves once the process has exited, however it ended. */
  exited: Promise<Exit>
  readonly running: boolean
  /** The JSON lines of its log (pino writes them to stdout). */
  logLines (): Array<Record<string, unknown>>
}

export interface StartOptions {
  cwd: string
  env: Record<string, string>
  args?: string[]
}

const started = new Set<ServiceProcess>()

/**
 * Starts `node --import tsx src/server.ts` (or `args`) in `cwd` with exactly `env` and PATH, and
 * keeps what it writes. Every process started here is killed by `killAll`.
 */
export function startProcess (name: string, options: StartOptions): ServiceProcess {
  const child = spawn(process.execPath, options.args ?? ['--import', 'tsx', 'src/server.ts'], {
    cwd: options.cwd,
    env: { PATH: process.env.PATH ?? '', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe']
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

  const proc: ServiceProcess = {
    name,
    child,
    get stdout () { return stdout },
    get stderr () { return stderr },
    get running () { return running },
    exited,
    logLines: () => stdout.split('\n').filter((line) => line.startsWith('{')).map((line) => {
      try {
        return JSON.parse(line) as Record<string, unknown>
      } catch {
        return {}
      }
    })
  }
  started.add(proc)
  return proc
}

/**
 * Waits until `url` answers 200, failing at once with the process's output if it exits first.
 * Start-up on a loaded machine (tsx compiling, migrations) can take many seconds.
 */
export async function waitUntilUp (proc: ServiceProcess, url: string, timeoutMs = 90_000): Promise<void> {
  const exitedEarly = proc.exited.then((exit) => {
    throw new Error(`${proc.name} exited before answering ${url}: ${JSON.stringify(exit)}`)
  })

  await Promise.race([waitForUrl(url, { ok: (status) => status === 200, timeoutMs }), exitedEarly])
}

/** Sends `signal` and resolves with how the process ended. */
export async function stop (proc: ServiceProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<Exit> {
  if (proc.running) proc.child.kill(signal)
  return await proc.exited
}

/** Everything each process wrote, for the test log of a failure. */
export function dumpOutput (): void {
  for (const proc of started) {
    process.stderr.write(`\n===== ${proc.name} stdout =====\n${proc.stdout}` +
      `\n===== ${proc.name} stderr =====\n${proc.stderr}\n`)
  }
}

/** SIGKILL for every process still running, so that a failed test leaves none behind. */
export async function killAll (): Promise<void> {
  const left = [...started].filter((proc) => proc.running)
  for (const proc of left) proc.child.kill('SIGKILL')
  await Promise.all(left.map((proc) => proc.exited))
}
