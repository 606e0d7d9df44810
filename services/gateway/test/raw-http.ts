import { connect, type Socket } from 'node:net'

export interface RawResponse {
  status: number
  headers: Record<string, string>
  body: string
}

function parse (text: string): RawResponse {
  const end = text.indexOf('\r\n\r\n')
  const [statusLine = '', ...lines] = text.slice(0, end).split('\r\n')
  const headers: Record<string, string> = {}
  for (const line of lines) {
    const colon = line.indexOf(':')
    headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim()
  }
  return { status: Number(statusLine.split(' ')[1]), headers, body: text.slice(end + 4) }
}

export function openSocket (url: string): Promise<Socket> {
  const { hostname, port } = new URL(url)
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port) }, () => resolve(socket))
    socket.once('error', reject)
  })
}

/** Sends `head` as is (it should ask for `Connection: close`) and reads until the server closes. */
export async function rawRequest (url: string, head: string): Promise<RawResponse> {
  const socket = await openSocket(url)
  const chunks: Buffer[] = []
  socket.on('data', (chunk: Buffer) => chunks.push(chunk))
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()))
  socket.write(head)
  await closed
  return parse(Buffer.concat(chunks).toString('latin1'))
}

/** Reads from `socket` until `marker` has arrived; resolves with everything read so far. */
export function readUntil (socket: Socket, marker: string): Promise<string> {
  let seen = ''
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      seen += chunk.toString('latin1')
      if (!seen.includes(marker)) return
      socket.off('data', onData)
      resolve(seen)
    }
    socket.on('data', onData)
    socket.once('close', () => reject(new Error(`closed before ${JSON.stringify(marker)}; got ${JSON.stringify(seen)}`)))
  })
}

export { parse as parseRawResponse }

export interface Exchange {
  response: RawResponse
  /** Whether the server closed the connection (within the wait). */
  closed: boolean
}

/**
 * Writes `head`, then `chunks` one by one (each once the previous has drained) until a response
 * arrives, and reads until the server closes or `waitMs` passes. Stopping the body when the
 * answer comes, as a careful client does, keeps an early answer readable.
 */
export async function sendUntilAnswered (
  url: string,
  head: string,
  chunks: Iterable<Buffer> = [],
  waitMs = 5000
): Promise<Exchange> {
  const socket = await openSocket(url)
  const received: Buffer[] = []
  let answered = false
  let wake = (): void => {}
  socket.on('data', (chunk: Buffer) => {
    answered = true
    received.push(chunk)
    wake()
  })
  socket.on('drain', () => wake())
  socket.on('error', () => {})
  const closed = new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), waitMs)
    socket.once('close', () => { clearTimeout(timer); wake(); resolve(true) })
  })

  socket.write(head)
  for (const chunk of chunks) {
    if (answered || socket.destroyed) break
    if (!socket.write(chunk)) await new Promise<void>((resolve) => { wake = resolve })
  }

  const wasClosed = await closed
  socket.destroy()
  return { response: parse(Buffer.concat(received).toString('latin1')), closed: wasClosed }
}
