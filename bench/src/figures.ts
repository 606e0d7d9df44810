import { round } from './stats.js'

export type Comparison = '>=' | '<=' | '<' | '>'

export interface Target {
  op: Comparison
  value: number
}

/** One line of the results: the shape of bench/results/*.json. */
export interface Figure {
  name: string
  value: number
  unit: string
  /** e.g. `>= 0.75`; null for a figure reported without a target. */
  target: string | null
  /** Whether `value` meets `target`; null when there is no target. */
  holds: boolean | null
}

function meets (value: number, { op, value: limit }: Target): boolean {
  switch (op) {
    case '>=': return value >= limit
    case '<=': return value <= limit
    case '<': return value < limit
    case '>': return value > limit
  }
}

/** A figure, rounded for reading; `holds` compares the rounded value the table shows. */
export function figure (name: string, value: number, unit: string, target?: Target): Figure {
  const shown = round(value)
  return {
    name,
    value: shown,
    unit,
    target: target === undefined ? null : `${target.op} ${target.value}`,
    holds: target === undefined ? null : meets(shown, target)
  }
}

export interface BenchOutcome {
  bench: string
  seconds: number
  figures: Figure[]
  /** What the figures came from, and for a failing target what limits it, measured. */
  notes: string[]
  error?: string
}

function pad (text: string, width: number, right = false): string {
  return right ? text.padStart(width) : text.padEnd(width)
}

/** The results as a plain-text table, then each benchmark's notes. */
export function formatTable (outcomes: BenchOutcome[]): string {
  const rows = outcomes.flatMap((outcome) => outcome.figures.map((f) => [
    f.name,
    String(f.value),
    f.unit,
    f.target ?? '(report)',
    f.holds === null ? '-' : f.holds ? 'yes' : 'NO'
  ]))
  const header = ['figure', 'value', 'unit', 'target', 'holds']
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => row[i]!.length)))
  const line = (cells: string[]) => cells.map((cell, i) => pad(cell, widths[i]!, i === 1)).join('  ')

  const out = [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)]
  for (const outcome of outcomes) {
    const failed = outcome.error === undefined ? '' : ' — FAILED'
    out.push('', `[${outcome.bench}] ${round(outcome.seconds)} s${failed}`)
    if (outcome.error !== undefined) out.push(`  error: ${outcome.error}`)
    for (const note of outcome.notes) out.push(`  - ${note}`)
  }
  return out.join('\n')
}
