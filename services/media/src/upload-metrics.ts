import { Counter, Histogram, type Registry } from 'prom-client'
import { isMediaError } from './errors.js'

/** The `reason` label of a failed upload: a media error code without its prefix, else `internal`. */
export function failureReason (error: unknown): string {
  if (!isMediaError(error)) return 'internal'
  return error.code.replace(/^MEDIA_/, '').toLowerCase()
}

/** Upload figures on the app's own registry (DESIGN.md section 6). */
export function createUploadMetrics (registry: Registry) {
  const bytes = new Counter({
    name: 'tessera_upload_bytes_total',
    help: 'Bytes of thumbnails stored',
    registers: [registry]
  })
  const duration = new Histogram({
    name: 'tessera_upload_duration_seconds',
    help: 'Time from the start of an upload request to its outcome',
    labelNames: ['outcome'],
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
    registers: [registry]
  })
  const failures = new Counter({
    name: 'tessera_upload_failures_total',
    help: 'Uploads that stored nothing, by reason',
    labelNames: ['reason'],
    registers: [registry]
  })

  return {
    /** Starts timing one upload; call `stored` or `failed` once. */
    start () {
      const stop = duration.startTimer()

      return {
        stored (size: number) {
          bytes.inc(size)
          stop({ outcome: 'stored' })
        },
        failed (error: unknown) {
          failures.inc({ reason: failureReason(error) })
          stop({ outcome: 'failed' })
        }
      }
    }
  }
}

export type UploadMetrics = ReturnType<typeof createUploadMetrics>
