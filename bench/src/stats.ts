/** The value below which `p` percent of `sorted` lie (nearest rank); 0 for no values. */
export function percentile (sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return 0
  const rank = Math.ceil((p / 100) * sorted.length) - 1
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))]!
}

export function median (values: number[]): number {
  return percentile([...values].sort((a, b) => a - b), 50)
}

/** Rounds to `digits` significant digits, keeping the figures in the table readable. */
export function round (value: number, digits = 3): number {
  if (value === 0 || !Number.isFinite(value)) return value
  return Number(value.toPrecision(digits))
}

/** `min–max` of a list, for the notes on how much rounds differed. */
export function spread (values: number[], digits = 3): string {
  return `${round(Math.min(...values), digits)}–${round(Math.max(...values), digits)}`
}

/** A list of numbers that grows without copying on every push. */
export class Samples {
  private data = new Float64Array(1 << 16)
  length = 0

  push (value: number): void {
    if (this.length === this.data.length) {
      const bigger = new Float64Array(this.data.length * 2)
      bigger.set(this.data)
      this.data = bigger
    }
    this.data[this.length++] = value
  }

  sorted (): Float64Array {
    return this.data.slice(0, this.length).sort()
  }
}
