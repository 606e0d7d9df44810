import type { FastifyInstance } from 'fastify'

/** The figures of DESIGN.md section 6, kept per process. */
export function createSnapshotCounters () {
  let received = 0
  let sent = 0
  let processingMicros = 0
  const byStatus: Record<string, number> = {}

  return {
    install (app: FastifyInstance): void {
      app.addHook('onRequest', async () => { received++ })
      app.addHook('onResponse', async (_request, reply) => {
        sent++
        processingMicros += Math.round(reply.elapsedTime * 1000)
        const status = String(reply.statusCode)
        byStatus[status] = (byStatus[status] ?? 0) + 1
      })
    },

    snapshot (version: string, database: Record<string, number>) {
      return {
        version,
        timestamp: Math.floor(Date.now() / 1000),
        // Node's nearest equivalent of goroutines: the handles and requests keeping the loop busy.
        goroutines: process.getActiveResourcesInfo().length,
        database,
        memstats: memstats(),
        total_requests_received: received,
        total_responses_sent: sent,
        total_processing_time_μs: processingMicros,
        total_responses_sent_by_status: { ...byStatus },
        cmdline: [...process.argv]
      }
    }
  }
}

function memstats (): Record<string, number> {
  const memory = process.memoryUsage()
  const usage = process.resourceUsage()
  return {
    rss: memory.rss,
    heap_total: memory.heapTotal,
    heap_used: memory.heapUsed,
    external: memory.external,
    array_buffers: memory.arrayBuffers,
    max_rss: usage.maxRSS * 1024,
    user_cpu_μs: usage.userCPUTime,
    system_cpu_μs: usage.systemCPUTime
  }
}
