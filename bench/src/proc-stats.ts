import { readdirSync, readFileSync } from 'node:fs'

const KiB = 1024
const MiB = 1024 * 1024

// USER_HZ: Linux reports process times in these ticks, 100 a second on every common build.
const TICKS_PER_SECOND = 100

export interface MemoryReading {
  /** Resident set now, bytes. */
  rss: number
  /** Peak resident set since the process started, bytes. */
  hwm: number
}

/** VmRSS and VmHWM of a process, from /proc/<pid>/status. */
export function readMemory (pid: number): MemoryReading {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const field = (name: string) => {
    const match = new RegExp(`^${name}:\\s+(\\d+) kB$`, 'm').exec(status)
    if (match === null) throw new Error(`/proc/${pid}/status has no ${name}`)
    return Number(match[1]) * KiB
  }

  return { rss: field('VmRSS'), hwm: field('VmHWM') }
}

/** User plus system CPU time a process has used so far, in ms, from /proc/<pid>/stat. */
export function readCpuMs (pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  // The command name (field 2) may hold spaces and parentheses: count fields after its last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  const ticks = Number(fields[11]) + Number(fields[12])
  return ticks * 1000 / TICKS_PER_SECOND
}

/** The 1-minute load average, from /proc/loadavg. */
export function loadAverage (): string {
  return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')
}

function median (values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] ?? 0
}

/** Median VmRSS of each process over `durationMs`, sampled every `intervalMs`: the idle baseline. */
export async function idleMemory (
  pids: Record<string, number>,
  options: { intervalMs: number, durationMs: number }
): Promise<Record<string, number>> {
  const samples: Record<string, number[]> = {}
  for (const name of Object.keys(pids)) samples[name] = []
  const deadline = performance.now() + options.durationMs

  while (performance.now() < deadline) {
    for (const [name, pid] of Object.entries(pids)) samples[name]!.push(readMemory(pid).rss)
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs))
  }
  return Object.fromEntries(Object.entries(samples).map(([name, values]) => [name, median(values)]))
}

export interface PeakMemory {
  /** The highest VmRSS sampled, or VmHWM when it rose during the window, bytes. */
  peak: number
  samples: number
}

/**
 * Samples VmRSS of each process every `intervalMs` until stop(). VmHWM read at both ends catches
 * a peak that fell between two samples, whenever it passed the process's lifetime high.
 */
export function samplePeakMemory (
  pids: Record<string, number>,
  intervalMs: number
): { stop (): Record<string, PeakMemory> } {
  const names = Object.keys(pids)
  const peaks: Record<string, number> = Object.fromEntries(names.map((name) => [name, 0]))
  const hwmBefore = Object.fromEntries(names.map((name) => [name, readMemory(pids[name]!).hwm]))
  let samples = 0

  const sample = () => {
    samples++
    for (const name of names) peaks[name] = Math.max(peaks[name]!, readMemory(pids[name]!).rss)
  }
  sample()
  const timer = setInterval(sample, intervalMs)

  return {
    stop () {
      clearInterval(timer)
      sample()
      return Object.fromEntries(names.map((name) => {
        const hwm = readMemory(pids[name]!).hwm
        const peak = hwm > hwmBefore[name]! ? Math.max(hwm, peaks[name]!) : peaks[name]!
        return [name, { peak, samples }]
      }))
    }
  }
}

export const toMiB = (bytes: number): number => bytes / MiB

/** CPU time this machine's cores spent busy, and could have spent, so far, in ms (/proc/stat). */
export function readMachineCpu (): { busy: number, total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!
  // user nice system idle iowait irq softirq steal (guest time is already counted in user)
  const ticks = line.trim().split(/\s+/).slice(1, 9).map(Number)
  const total = ticks.reduce((sum, n) => sum + n, 0)
  const idle = ticks[3]! + ticks[4]!
  return { busy: (total - idle) * 1000 / TICKS_PER_SECOND, total: total * 1000 / TICKS_PER_SECOND }
}

export interface CpuUse {
  /** CPU ms per process name, plus `bench` (this process). */
  processes: Record<string, number>
  /** Busy CPU ms of the whole machine, and what all its cores could have given, same window. */
  machineBusy: number
  machineTotal: number
  wallMs: number
}

export interface CpuMeter {
  /** CPU each process (and the machine) used since the meter started. */
  read (): CpuUse
}

/**
 * CPU ms so far of this run's Postgres backends (their command line names the database) and of
 * every Redis server process, by pid.
 */
function serverCpu (database: string | undefined): Map<number, { name: string, ms: number }> {
  const found = new Map<number, { name: string, ms: number }>()
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const comm = readFileSync(`/proc/${entry}/comm`, 'utf8').trim()
      let name: string | undefined
      if (comm === 'redis-server') name = 'redis'
      if (comm === 'postgres' && database !== undefined &&
        readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(` ${database} `)) name = 'postgres'
      if (name !== undefined) found.set(Number(entry), { name, ms: readCpuMs(Number(entry)) })
    } catch {
      // It exited meanwhile.
    }
  }
  return found
}

/**
 * CPU time used from now on by each process given, by this one (as `bench`), by the Postgres
 * backends serving `database` and the Redis server (whoever else it serves), and by the machine.
 */
export function meterCpu (pids: Record<string, number>, database?: string): CpuMeter {
  const start = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, readCpuMs(pid)]))
  const servers = serverCpu(database)
  const own = process.cpuUsage()
  const machine = readMachineCpu()
  const startedAt = performance.now()

  return {
    read () {
      const processes: Record<string, number> = {}
      for (const [name, pid] of Object.entries(pids)) processes[name] = readCpuMs(pid) - start[name]!
      const mine = process.cpuUsage(own)
      processes.bench = (mine.user + mine.system) / 1000
      // A backend that started during the window (a new pool connection) counts from zero.
      for (const [pid, now] of serverCpu(database)) {
        processes[now.name] = (processes[now.name] ?? 0) + now.ms - (servers.get(pid)?.ms ?? 0)
      }
      const machineNow = readMachineCpu()
      return {
        processes,
        machineBusy: machineNow.busy - machine.busy,
        machineTotal: machineNow.total - machine.total,
        wallMs: performance.now() - startedAt
      }
    }
  }
}

/**
 * `machine 96% busy, in cores: profile 0.81, bench 0.62, other 0.49` — where the CPU went. `other`
 * is everything not listed: the kernel's own work and whatever else runs on this machine.
 */
export function describeCpu (use: CpuUse): string {
  const cores = (ms: number) => (ms / use.wallMs).toFixed(2)
  const listed = Object.entries(use.processes).sort((a, b) => b[1] - a[1])
  const other = use.machineBusy - listed.reduce((sum, [, ms]) => sum + ms, 0)
  const busy = use.machineTotal > 0 ? Math.round(100 * use.machineBusy / use.machineTotal) : 0
  const parts = listed.filter(([, ms]) => ms / use.wallMs >= 0.01).map(([name, ms]) => `${name} ${cores(ms)}`)
  parts.push(`other ${cores(Math.max(0, other))}`)
  return `machine ${busy}% busy, in cores: ${parts.join(', ')}`
}

export interface PerUnit {
  /** CPU µs per unit of work, by process of this run. */
  processes: Record<string, number>
  /** Their sum: what one unit of work costs this run, whoever else shares the machine. */
  run: number
  /** The rest of the machine's busy time per unit: the kernel and work outside this run. */
  other: number
}

/** CPU µs each process of the run spent per unit of work (a request, a transaction). */
export function cpuPer (use: CpuUse, units: number): PerUnit {
  const processes: Record<string, number> = {}
  for (const [name, ms] of Object.entries(use.processes)) processes[name] = 1000 * ms / units
  const run = Object.values(processes).reduce((sum, us) => sum + us, 0)
  return { processes, run, other: Math.max(0, 1000 * use.machineBusy / units - run) }
}

/** `profile 251, postgres 60, bench 54 = 365 µs` — the processes that cost at least 1 µs. */
export function describePer (per: PerUnit): string {
  const listed = Object.entries(per.processes).filter(([, us]) => us >= 1).sort((a, b) => b[1] - a[1])
  const parts = listed.map(([name, us]) => `${name} ${Math.round(us)}`)
  return `${parts.join(', ')} = ${Math.round(per.run)} µs`
}

/** Several windows as one: their CPU, capacity and time added up. */
export function sumCpu (uses: CpuUse[]): CpuUse {
  const processes: Record<string, number> = {}
  for (const use of uses) {
    for (const [name, ms] of Object.entries(use.processes)) {
      processes[name] = (processes[name] ?? 0) + ms
    }
  }
  const add = (key: 'machineBusy' | 'machineTotal' | 'wallMs') =>
    uses.reduce((sum, use) => sum + use[key], 0)
  return {
    processes,
    machineBusy: add('machineBusy'),
    machineTotal: add('machineTotal'),
    wallMs: add('wallMs')
  }
}

/** CPU per unit over all `runs` together: steadier than any one of them. */
export function pooledPer (runs: Array<{ cpu: CpuUse, responses: number }>) {
  const use = sumCpu(runs.map((run) => run.cpu))
  return { use, per: cpuPer(use, runs.reduce((sum, run) => sum + run.responses, 0)) }
}

/** Processes that are not one Node (or Redis) thread: they may use every core. */
const MULTI_PROCESS = new Set(['postgres'])

export interface Bound {
  /** Units per second the CPU allows at most. */
  rate: number
  /** `machine` when all the cores together are the limit, else the process whose thread is. */
  limiter: string
}

/**
 * The most units per second that CPU allows: the machine's cores shared by every process of the
 * run, and one core for each single-threaded one (a Node event loop, roughly: its GC and libuv
 * threads count towards it too).
 */
export function cpuBound (per: PerUnit, cores: number): Bound {
  let bound: Bound = { rate: cores * 1e6 / per.run, limiter: 'machine' }
  for (const [name, us] of Object.entries(per.processes)) {
    if (MULTI_PROCESS.has(name) || us <= 0) continue
    if (1e6 / us < bound.rate) bound = { rate: 1e6 / us, limiter: name }
  }
  return bound
}

/** `the machine's 2 cores (≈ 2950/s)` or `profile's event loop (≈ 4720/s)`. */
export function describeBound (bound: Bound, cores: number): string {
  const rate = Math.round(bound.rate)
  return bound.limiter === 'machine'
    ? `the ${cores} cores shared by the run (≈ ${rate}/s)`
    : `${bound.limiter}'s thread, one core (≈ ${rate}/s)`
}
