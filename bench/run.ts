// `pnpm bench [name ...] [--cpu-prof]`: starts Tessera on loopback, runs the benchmarks, prints the
// table and writes it to bench/results/<timestamp>.json and bench/results/latest.json.
import { execFileSync } from 'node:child_process'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gatewayOverhead } from './src/benchmarks/gateway.js'
import { login } from './src/benchmarks/login.js'
import { metricsCost } from './src/benchmarks/metrics.js'
import { updateUser } from './src/benchmarks/update-user.js'
import { upload } from './src/benchmarks/upload.js'
import type { BenchContext, Benchmark } from './src/context.js'
import { formatTable, type BenchOutcome } from './src/figures.js'
import { summariseProfiles } from './src/cpu-profile.js'
import { loadAverage } from './src/proc-stats.js'
import { startSystem, type System } from './src/system.js'

// The SDK warns once per process that its 2027 releases will need Node 22; noise in a table.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true'

const BENCHMARKS: Benchmark[] = [gatewayOverhead, updateUser, upload, metricsCost, login]
/** Issue 6: each benchmark under two minutes. */
const BENCH_LIMIT_SECONDS = 120
/** A benchmark still running after this is taken to hang: it fails and the run stops. */
const BENCH_TIMEOUT_MS = 240_000

const resultsDir = fileURLToPath(new URL('./results/', import.meta.url))
const log = (line: string) => {
  process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`)
}

function usage (): string {
  const lines = BENCHMARKS.map((b) => {
    const names = [b.name, ...b.aliases ?? []].join(', ')
    return `  ${names.padEnd(20)} ${b.summary}`
  })
  return ['usage: pnpm bench [name ...] [--cpu-prof]', '', ...lines, '',
    '--cpu-prof  run gateway and media under node --cpu-prof and print where their time went',
    'Environment: DATABASE_URL, REDIS_URL (else the local servers if they answer, else embedded',
    'Postgres and in-process stores), BENCH_EMBEDDED=1 forces the fallbacks, BENCH_LOG_LEVEL (info),',
    'BENCH_KEEP=1 keeps the scratch directory (logs).'].join('\n')
}

function select (args: string[]): Benchmark[] {
  const names = args.filter((arg) => !arg.startsWith('--'))
  if (names.length === 0) return BENCHMARKS

  return names.map((name) => {
    const found = BENCHMARKS.find((b) => b.name === name || b.aliases?.includes(name))
    if (found === undefined) throw new Error(`no benchmark "${name}"\n\n${usage()}`)
    return found
  })
}

/** One benchmark, bounded by BENCH_TIMEOUT_MS, with the load average around it. */
type Outcome = BenchOutcome & { hung?: true }

async function runOne (bench: Benchmark, context: BenchContext): Promise<Outcome> {
  const began = performance.now()
  const loadBefore = loadAverage()
  let timer: NodeJS.Timeout | undefined
  let hung = false
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      hung = true
      reject(new Error(`still running after ${BENCH_TIMEOUT_MS / 1000} s`))
    }, BENCH_TIMEOUT_MS)
  })

  let outcome: Outcome
  try {
    const result = await Promise.race([bench.run(context), timeout])
    outcome = { bench: bench.name, seconds: 0, ...result }
  } catch (err) {
    const error = err instanceof Error ? err.message : String(err)
    outcome = { bench: bench.name, seconds: 0, figures: [], notes: [], error }
    if (hung) outcome.hung = true
  } finally {
    clearTimeout(timer)
  }

  outcome.seconds = (performance.now() - began) / 1000
  outcome.notes.push(`load average (1, 5, 15 min) before ${loadBefore}, after ${loadAverage()}`)
  if (outcome.seconds > BENCH_LIMIT_SECONDS) {
    outcome.notes.push(`took longer than the ${BENCH_LIMIT_SECONDS} s limit`)
  }
  return outcome
}

function uptime (): string {
  try {
    return execFileSync('uptime', { encoding: 'utf8' }).trim()
  } catch {
    return `load average ${loadAverage()}`
  }
}

async function main (): Promise<number> {
  const args = process.argv.slice(2)
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(usage() + '\n')
    return 0
  }
  let selected: Benchmark[]
  try {
    selected = select(args)
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`)
    return 2
  }
  const cpuProf = args.includes('--cpu-prof')

  const workDir = await mkdtemp(join(tmpdir(), 'tessera-bench-'))
  const profileDir = join(workDir, 'cpu-profiles')
  const startedAt = new Date()
  const uptimeBefore = uptime()
  log(`tessera bench: ${selected.map((b) => b.name).join(', ')}; ${uptimeBefore}`)

  let system: System | undefined
  const named: Array<{ name: string, pid: number }> = []
  const nodeFlags = cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []
  let starting: Promise<System> | undefined
  const context: BenchContext = {
    workDir,
    log,
    shared: new Map(),
    nodeFlags,
    started: (name, pid) => { named.push({ name, pid }) },
    system: () => {
      starting ??= (async () => {
        log('starting the system (Postgres database, Redis prefix, s3rver, gateway, profile, media)')
        const up = await startSystem({
          workDir,
          profileFlags: nodeFlags
        })
        system = up
        log(`system up: ${up.mode} processes, Postgres ${up.database.kind}, ` +
          `${up.redis === undefined ? 'in-process session store' : 'Redis'}`)
        return up
      })()
      return starting
    }
  }

  const stop = async () => {
    if (starting !== undefined) await starting.catch(() => undefined)
    named.push(...system?.started ?? [])
    await system?.close()
    system = undefined
  }
  let interrupted = false
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      interrupted = true
      log(`${signal}: stopping the system and cleaning up`)
      stop().finally(() => process.exit(130))
    })
  }

  const outcomes: BenchOutcome[] = []
  try {
    for (const bench of selected) {
      if (interrupted) break
      log(`── ${bench.name}`)
      const outcome = await runOne(bench, context)
      outcomes.push(outcome)
      if (outcome.error !== undefined) log(`${bench.name} failed: ${outcome.error}`)
      // A hung benchmark leaves the system in an unknown state: the rest would measure nothing.
      if (outcome.hung === true) interrupted = true
    }
  } finally {
    await stop()
  }

  const names = Object.fromEntries(named.map(({ name, pid }) => [pid, name]))
  const profiles = cpuProf ? await summariseProfiles(profileDir, names) : []
  const finishedAt = new Date()
  const report = {
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    context: {
      node: process.version,
      cores: availableParallelism(),
      uptimeBefore,
      uptimeAfter: uptime()
    },
    figures: outcomes.flatMap((o) => o.figures),
    notes: Object.fromEntries(outcomes.map((o) => [o.bench, o.notes])),
    errors: Object.fromEntries(outcomes.flatMap((o) => o.error === undefined ? [] : [[o.bench, o.error]])),
    ...(cpuProf ? { cpuProfiles: profiles } : {})
  }

  process.stdout.write('\n' + formatTable(outcomes) + '\n')
  if (profiles.length > 0) {
    process.stdout.write(`\nCPU profiles (self time):\n${profiles.map((p) => p.text).join('\n')}\n`)
  }

  await mkdir(resultsDir, { recursive: true })
  const stamp = startedAt.toISOString().replace(/[:.]/g, '-')
  const json = JSON.stringify(report, null, 2) + '\n'
  await writeFile(join(resultsDir, `${stamp}.json`), json)
  await writeFile(join(resultsDir, 'latest.json'), json)
  process.stdout.write(`\nwritten: bench/results/${stamp}.json and bench/results/latest.json\n`)

  const failed = outcomes.some((o) => o.error !== undefined)
  if (failed || cpuProf || process.env.BENCH_KEEP === '1') {
    process.stdout.write(`scratch directory (service logs, CPU profiles) kept: ${workDir}\n`)
  } else {
    await rm(workDir, { recursive: true, force: true })
  }
  return failed ? 1 : 0
}

process.exitCode = await main()
