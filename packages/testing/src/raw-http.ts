import { once } from 'node:events'
import { connect, type Socket } from 'node:net'

export interface RawResponse {
  status: number
  headers: Record<string, string>
  body: Buffer
  text: string
  json (): any
}

/** The request line and headers of an HTTP/1.1 request, ready to write to a socket. */
export function requestHead (method: string, path: string, headers: Record<string, string | number> = {}): string {
  const lines = [`${method} ${path} HTTP/1.1`, 'Host: 127.0.0.1']
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`)
  return lines.join('\r\n') + '\r\n\r\n'
}

/**
 * One keep-alive HTTP/1.1 connection driven by hand: write any bytes at any pace (stop half way,
 * lie about lengths, keep a request in flight), read whole responses in order, see the close.
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
    this.closed = once(socket, 'close').then(() => {
      this.ended = true
      this.wake?.()
    })
    // A reset after the server answered early is what some tests provoke; `closed` tells it.
    socket.on('error', () => {})
  }

  static async open (baseUrl: string): Promise<RawConnection> {
    const { hostname, port } = new URL(baseUrl)
    const socket = connect({ host: hostname, port: Number(port) })
    await once(socket, 'connect')
    return new RawConnection(socket)
  }

  get isClosed (): boolean {
    return this.ended
  }

  async write (data: string | Buffer): Promise<void> {
    await new Promise<void>((resolve, reject) => this.socket.write(data, (err) => err ? reject(err) : resolve()))
  }

  destroy (): void {
    this.socket.destroy()
  }

  /** The next whole response (Content-Length framed, as every Tessera answer is). */
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
    const text = body.toString('utf8')

    return { status: Number(statusLine.split(' ')[1]), headers, body, text, json: () => JSON.parse(text) }
  }

  private async more (): Promise<void> {
    if (this.ended) throw new Error(`the connection closed with ${this.buffer.length} bytes unread`)
    await new Promise<void>((resolve) => { this.wake = resolve })
    this.wake = undefined
  }
}
