import type { Figure } from './figures.js'
import type { System } from './system.js'

export interface BenchContext {
  /** The running system, started on first use and shared by every benchmark after that. */
  system (): Promise<System>
  /** Scratch space of this run (logs, fixture processes); removed at the end. */
  workDir: string
  /** Progress lines, on stderr so that the table stays clean on stdout. */
  log (line: string): void
  /** Figures one benchmark measured that another may use, e.g. a request's CPU cost. */
  shared: Map<string, number>
  /** Node flags for the processes a benchmark starts itself (`--cpu-prof` and its directory). */
  nodeFlags: string[]
  /** Names a process a benchmark started, for its CPU profile. */
  started (name: string, pid: number): void
}

export interface BenchResult {
  figures: Figure[]
  notes: string[]
}

export interface Benchmark {
  name: string
  /** Other names `pnpm bench <name>` accepts for it. */
  aliases?: string[]
  /** One line for `pnpm bench --help`. */
  summary: string
  run (context: BenchContext): Promise<BenchResult>
}
