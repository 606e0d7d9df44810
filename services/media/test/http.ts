import { randomBytes } from 'node:crypto'
import { connect, type Socket } from 'node:net'

export interface FilePart {
  name: string
  /** Leave out for a part without a `filename` parameter. */
  filename?: string
  contentType?: string
  data: Buffer
}

export interface FieldPart {
  name: string
  value: string
}

export type Part = FilePart | FieldPart

function partHead (part: Part): string {
  const isFile = 'data' in part
  let disposition = `form-data; name="${part.name}"`
  if (isFile && part.filename !== undefined) disposition += `; filename="${part.filename}"`

  let head = `Content-Disposition: ${disposition}\r\n`
  if (isFile) head += `Content-Type: ${part.contentType ?? 'application/octet-stream'}\r\n`
  return head + '\r\n'
}

/** A multipart/form-data body of `parts` and its Content-Type. */
export function multipart (parts: Part[], boundary = `tessera-${randomBytes(8).toString('hex')}`) {
  const chunks: Buffer[] = []
  for (const part of parts) {
    chunks.push(Buffer.from(`--${boundary}\r\n${partHead(part)}`))
    chunks.push('data' in part ? part.data : Buffer.from(part.value))
    chunks.push(Buffer.from('\r\n'))
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`))

  return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}`, boundary }
}

/** A `thumbnail` file part. */
export function thumbnail (data: Buffer, filename = 'me.png', contentType = 'image/png'): FilePart {
  return { name: 'thumbnail', filename, contentType, data }
}

export interface RawResponse {
  status: number
  headers: Record<string, string>
  body: Buffer
  json (): any
}

/** The request line and headers of an HTTP/1.1 request, ready to write to a socket. */
export function requestHead (method: string, path: string, headers: Record<string, string | number>): string {
  const lines = [`${method} ${path} HTTP/1.1`, 'Host: 127.0.0.1']
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`)
  return lines.join('\r\n') + '\r\n\r\n'
}

/**
 * One keep-alive HTTP/1.1 connection driven by hand: write any bytes, read whole responses in
 * order. For what a normal client cannot do (stop half way, lie about lengths, reuse the socket).
 */
export class RawConnection {
  private buffer = Buffer.alloc(0)
  private wake: (() => void) | undefined
  private ended = false
  readonly closed: Promise<void>

  private constructor (readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk])
      this.wake?.()
    })
    this.closed = new Promise((resolve) => {
      socket.on('close', () => {
        this.ended = true
        this.wake?.()
        resolve()
      })
    })
    // A reset after the server answered early is expected in some tests; the close says enough.
    socket.on('error', () => {})
  }

  static async open (baseUrl: string): Promise<RawConnection> {
    const { hostname, port } = new URL(baseUrl)
    const socket = connect({ host: hostname, port: Number(port) })
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject))
    return new RawConnection(socket)
  }

  async write (data: string | Buffer): Promise<void> {
    await new Promise<void>((resolve, reject) => this.socket.write(data, (err) => err ? reject(err) : resolve()))
  }

  destroy (): void {
    this.socket.destroy()
  }

  /** The next whole response on the connection. */
  async response (): Promise<RawResponse> {
    let headEnd = this.buffer.indexOf('\r\n\r\n')
    while (headEnd === -1) {
      await this.more()
      headEnd = this.buffer.indexOf('\r\n\r\n')
    }

    const [statusLine = '', ...lines] = this.buffer.subarray(0, headEnd).toString('latin1').split('\r\n')
    const headers: Record<string, string> = {}
    for (const line of lines) {
      const colon = line.indexOf(':')
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim()
    }

    const length = Number(headers['content-length'] ?? 0)
    while (this.buffer.length < headEnd + 4 + length) await this.more()

    const body = this.buffer.subarray(headEnd + 4, headEnd + 4 + length)
    this.buffer = this.buffer.subarray(headEnd + 4 + length)

    return {
      status: Number(statusLine.split(' ')[1]),
      headers,
      body,
      json: () => JSON.parse(body.toString('utf8'))
    }
  }

  private async more (): Promise<void> {
    if (this.ended) throw new Error(`connection closed; ${this.buffer.length} bytes unread`)
    await new Promise<void>((resolve) => { this.wake = resolve })
    this.wake = undefined
  }
}
