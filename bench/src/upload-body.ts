import { createHash, randomBytes, type Hash } from 'node:crypto'
import { request } from 'node:http'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { crc32 } from 'node:zlib'

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])
const FILLER = randomBytes(1024 * 1024)
const CHUNK = 256 * 1024
/** Longer than any upload here takes; a hung service fails the run instead of stalling it. */
const UPLOAD_TIMEOUT_MS = 150_000

function chunk (type: string, length: number, data: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(8)
  head.writeUInt32BE(length, 0)
  head.write(type, 4, 'latin1')
  if (data.length === 0) return head

  const crc = Buffer.alloc(4)
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0)
  return Buffer.concat([head, data, crc])
}

/**
 * The head of a PNG: signature, a 1×1 IHDR and the header of one IDAT chunk that holds all the
 * filler, so the bytes read as a PNG to type detection however long the file is.
 */
function pngHead (size: number): Buffer {
  const ihdr = Buffer.alloc(13)
  ihdr.writeUInt32BE(1, 0)
  ihdr.writeUInt32BE(1, 4)
  ihdr.set([8, 2, 0, 0, 0], 8)
  const fixed = PNG_SIGNATURE.length + 25 + 8 + 4
  if (size < fixed + 1) throw new RangeError(`a generated PNG needs at least ${fixed + 1} bytes`)

  return Buffer.concat([PNG_SIGNATURE, chunk('IHDR', 13, ihdr), chunk('IDAT', size - fixed)])
}

/** Exactly `size` bytes of a PNG-looking file, made as they are read: never held whole. */
export function generatedPng (size: number, hash?: Hash): Readable {
  const head = pngHead(size)
  let sent = 0

  return new Readable({
    highWaterMark: CHUNK,
    read () {
      let piece: Buffer
      if (sent === 0) {
        piece = head
      } else {
        const offset = sent % FILLER.length
        piece = FILLER.subarray(offset, Math.min(FILLER.length, offset + CHUNK, offset + size - sent))
      }
      // The last 4 bytes stand for the IDAT chunk's CRC; filler does as well as any.
      sent += piece.length
      hash?.update(piece)
      this.push(piece)
      if (sent >= size) this.push(null)
    }
  })
}

export interface UploadResponse {
  status: number
  body: { key?: string, size?: number, s3_url?: string }
  ms: number
  /** sha256 (hex) of the file bytes sent, when asked for. */
  sha256?: string
}

/**
 * POSTs a generated PNG of `size` bytes as the `thumbnail` part of a streamed multipart body, with
 * its Content-Length, and waits for the whole answer.
 */
function framing (boundary: string) {
  return {
    prefix: Buffer.from(`--${boundary}\r\n` +
      'Content-Disposition: form-data; name="thumbnail"; filename="bench.png"\r\n' +
      'Content-Type: image/png\r\n\r\n'),
    suffix: Buffer.from(`\r\n--${boundary}--\r\n`)
  }
}

const newBoundary = () => `bench${randomBytes(12).toString('hex')}`

/** Bytes the multipart body of uploadPng adds around the file. */
export function multipartOverhead (): number {
  const { prefix, suffix } = framing(newBoundary())
  return prefix.length + suffix.length
}

export async function uploadPng (
  url: string,
  cookie: string,
  size: number,
  withHash = false
): Promise<UploadResponse> {
  const boundary = newBoundary()
  const { prefix, suffix } = framing(boundary)
  const hash = withHash ? createHash('sha256') : undefined
  const file = generatedPng(size, hash)

  async function * body () {
    yield prefix
    yield * file
    yield suffix
  }

  const startedAt = performance.now()
  const req = request(url, {
    method: 'POST',
    signal: AbortSignal.timeout(UPLOAD_TIMEOUT_MS),
    headers: {
      cookie,
      'content-type': `multipart/form-data; boundary=${boundary}`,
      'content-length': String(prefix.length + size + suffix.length)
    }
  })
  const answered = new Promise<{ status: number, text: string }>((resolve, reject) => {
    req.once('response', (res) => {
      const parts: Buffer[] = []
      res.on('data', (data: Buffer) => parts.push(data))
      res.once('end', () => {
        resolve({ status: res.statusCode ?? 0, text: Buffer.concat(parts).toString('utf8') })
      })
      res.once('error', reject)
    })
    req.once('error', reject)
  })

  // A service that answers early (an error) may stop reading: the answer counts, not the pipe.
  const sent = pipeline(Readable.from(body()), req).catch(() => {})
  const { status, text } = await answered
  await sent
  const ms = performance.now() - startedAt

  let parsed: UploadResponse['body'] = {}
  try {
    parsed = JSON.parse(text) as UploadResponse['body']
  } catch {
    throw new Error(`upload answered ${status} with a body that is not JSON: ${text.slice(0, 200)}`)
  }
  if (status !== 200) throw new Error(`upload answered ${status}: ${text.slice(0, 300)}`)
  return { status, body: parsed, ms, ...(hash === undefined ? {} : { sha256: hash.digest('hex') }) }
}
