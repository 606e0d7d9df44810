import { meterCpu, type CpuUse } from './proc-stats.js'

/**
 * Runs each variant once per round, flipping the order every other round, so that a machine that
 * gets busier or quieter during the run weighs on every variant alike.
 */
export async function alternate<T> (
  rounds: number,
  variants: Record<string, () => Promise<T>>
): Promise<Record<string, T[]>> {
  const names = Object.keys(variants)
  const results: Record<string, T[]> = Object.fromEntries(names.map((name) => [name, []]))

  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? names : [...names].reverse()
    for (const name of order) results[name]!.push(await variants[name]!())
  }
  return results
}

/** `work` with the CPU each listed process, the servers and the machine spent while it ran. */
export async function metered<T> (
  pids: Record<string, number>,
  work: () => Promise<T>,
  database?: string
): Promise<T & { cpu: CpuUse }> {
  const meter = meterCpu(pids, database)
  const result = await work()
  return { ...result, cpu: meter.read() }
}
