import { Writable } from 'node:stream'

export interface LogLine {
  level: number
  msg: string
  [key: string]: unknown
}

/** A pino destination that keeps the parsed lines; pass `logger` as the app's `logger` dep. */
export function logCapture (level = 'info') {
  const lines: LogLine[] = []
  const stream = new Writable({
    write (chunk: Buffer, _encoding, done) {
      for (const text of chunk.toString().split('\n')) if (text !== '') lines.push(JSON.parse(text))
      done()
    }
  })
  return { lines, logger: { level, stream } }
}
