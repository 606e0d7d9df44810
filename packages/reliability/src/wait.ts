import { setTimeout as sleep } from 'node:timers/promises'

/** Retries `check` until it passes or `timeoutMs` runs out, then throws its last failure. */
export async function eventually<T> (check: () => Promise<T>, timeoutMs = 10_000, intervalMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      return await check()
    } catch (err) {
      if (Date.now() > deadline) throw err
      await sleep(intervalMs)
    }
  }
}

export { sleep }
