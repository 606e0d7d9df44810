import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'

interface ProfileNode {
  id: number
  callFrame: { functionName: string, url: string, lineNumber: number }
}

interface CpuProfile {
  nodes: ProfileNode[]
  samples: number[]
  timeDeltas: number[]
}

export interface ProfileSummary {
  file: string
  process: string
  /** ms of samples that were not idle. */
  busyMs: number
  functions: Array<{ name: string, ms: number, share: number }>
  packages: Array<{ name: string, ms: number, share: number }>
  text: string
}

const IDLE = new Set(['(idle)', '(program)'])

/** Where a function lives: an npm package, node itself, or Tessera's own source. */
function packageOf (url: string): string {
  const inModules = /node_modules\/((?:@[^/]+\/)?[^/]+)\/(?!.*node_modules\/)/.exec(url)
  if (inModules !== null) return inModules[1]!
  if (url.startsWith('node:')) return 'node core'
  const own = /\/(services|packages)\/([^/]+)\//.exec(url)
  return own === null ? url : `tessera ${own[1]}/${own[2]}`
}

function top (totals: Map<string, number>, busy: number, count: number) {
  return [...totals].sort((a, b) => b[1] - a[1]).slice(0, count)
    .map(([name, ms]) => ({ name, ms: Math.round(ms), share: Math.round(1000 * ms / busy) / 10 }))
}

function summarise (profile: CpuProfile, file: string, processName: string): ProfileSummary {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]))
  const functions = new Map<string, number>()
  const packages = new Map<string, number>()
  let busyMs = 0

  profile.samples.forEach((id, i) => {
    const frame = byId.get(id)?.callFrame
    const ms = (profile.timeDeltas[i] ?? 0) / 1000
    if (frame === undefined || IDLE.has(frame.functionName)) return

    busyMs += ms
    const file = frame.url.replace(/^file:\/\/.*?\/(node_modules|services|packages)\//, '$1/')
    const where = frame.url === '' ? '' : ` ${file}:${frame.lineNumber + 1}`
    const name = `${frame.functionName || '(anonymous)'}${where}`
    functions.set(name, (functions.get(name) ?? 0) + ms)
    const pkg = frame.url === '' ? 'native code and GC' : packageOf(frame.url)
    packages.set(pkg, (packages.get(pkg) ?? 0) + ms)
  })

  const summary = {
    file,
    process: processName,
    busyMs: Math.round(busyMs),
    functions: top(functions, busyMs, 8),
    packages: top(packages, busyMs, 6)
  }
  const lines = [
    `${processName}: ${summary.busyMs} ms busy (${file})`,
    `  by package: ${summary.packages.map((p) => `${p.name} ${p.share}%`).join(', ')}`,
    ...summary.functions.map((f) => `  ${String(f.share).padStart(5)}%  ${f.name}`)
  ]
  return { ...summary, text: lines.join('\n') }
}

/** Self-time summaries of the main-thread profiles node wrote into `dir`, named by the pids given. */
export async function summariseProfiles (
  dir: string,
  names: Record<number, string>
): Promise<ProfileSummary[]> {
  let files: string[]
  try {
    // Thread 0 only: the others are tsx's loader thread, busy at start-up alone.
    files = (await readdir(dir)).filter((name) => /\.\d+\.0\.\d+\.cpuprofile$/.test(name)).sort()
  } catch {
    return []
  }

  const summaries: ProfileSummary[] = []
  for (const file of files) {
    const pid = Number(/\.(\d+)\.\d+\.\d+\.cpuprofile$/.exec(file)?.[1])
    const profile = JSON.parse(await readFile(join(dir, file), 'utf8')) as CpuProfile
    summaries.push(summarise(profile, join(dir, file), names[pid] ?? `pid ${pid}`))
  }
  return summaries
}
