/** Background work (e-mail, clean-ups) that shutdown must wait for, within a bound. */
export interface TaskTracker {
  track<T>(task: Promise<T>): Promise<T>
  drain(timeoutMs: number): Promise<boolean>
  readonly pending: number
}

export function createTaskTracker (): TaskTracker {
  const tasks = new Set<Promise<unknown>>()

  return {
    track (task) {
      const settled = task.then(() => undefined, () => undefined)
      tasks.add(settled)
      settled.finally(() => tasks.delete(settled)).catch(() => {})
      return task
    },

    /** Resolves true when everything finished, false when the bound ran out first. */
    async drain (timeoutMs) {
      let timer: NodeJS.Timeout | undefined
      const timeout = new Promise<false>((resolve) => {
        timer = setTimeout(resolve, timeoutMs, false)
      })
      const done = (async () => {
        while (tasks.size > 0) await Promise.all(tasks)
        return true as const
      })()
      try {
        return await Promise.race([done, timeout])
      } finally {
        clearTimeout(timer)
      }
    },

    get pending () {
      return tasks.size
    }
  }
}
