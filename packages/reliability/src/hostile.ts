import { once } from 'node:events'
import { connect } from 'node:net'

export interface RawReply {
  status: number
  headers: Record<string, string>
  /** The parsed JSON body, the text when it is not JSON, or '' when there is none. */
  body: unknown
}

/**
 * Sends `bytes` on a connection of its own as they are, and reads until the server closes it
 * (requests here ask for `Connection: close`). A server that does not answer within `timeoutMs`
 * fails the call: a hostile input must never hang.
 */
export async function sendRaw (baseUrl: string, bytes: Buffer, timeoutMs = 5000): Promise<RawReply> {
  const { hostname, port } = new URL(baseUrl)
  const socket = connect({ host: hostname, port: Number(port) })
  const chunks: Buffer[] = []
  socket.on('data', (chunk: Buffer) => chunks.push(chunk))
  // The server may answer and close before the whole request was written; its answer counts.
  socket.on('error', () => {})
  await once(socket, 'connect')

  const timer = setTimeout(() => socket.destroy(new Error('no answer')), timeoutMs)
  socket.write(bytes)
  await once(socket, 'close')
  clearTimeout(timer)

  const text = Buffer.concat(chunks).toString('utf8')
  const end = text.indexOf('\r\n\r\n')
  if (end === -1) throw new Error(`no answer within ${timeoutMs} ms (got ${JSON.stringify(text.slice(0, 200))})`)

  const [statusLine = '', ...lines] = text.slice(0, end).split('\r\n')
  const headers: Record<string, string> = {}
  for (const line of lines) {
    const colon = line.indexOf(':')
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim()
  }
  const rest = headers['transfer-encoding'] === 'chunked' ? unchunk(text.slice(end + 4)) : text.slice(end + 4)
  let body: unknown = rest
  try {
    body = rest === '' ? '' : JSON.parse(rest)
  } catch {}
  return { status: Number(statusLine.split(' ')[1]), headers, body }
}

function unchunk (text: string): string {
  let out = ''
  let rest = text
  for (;;) {
    const eol = rest.indexOf('\r\n')
    const size = parseInt(rest.slice(0, eol), 16)
    if (eol === -1 || !(size > 0)) return out
    out += rest.slice(eol + 2, eol + 2 + size)
    rest = rest.slice(eol + 4 + size)
  }
}

/**
 * An HTTP/1.1 request as bytes, asking to close the connection after the answer. A body gets a
 * Content-Length unless the headers give one (or a Transfer-Encoding) themselves.
 */
export function rawRequest (
  method: string,
  target: string,
  headers: Record<string, string | number> = {},
  body: Buffer | string = ''
): Buffer {
  const data = Buffer.from(body)
  const lines = [`${method} ${target} HTTP/1.1`, 'Host: 127.0.0.1', 'Connection: close']
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`)
  const framed = Object.keys(headers).some((name) => /^(content-length|transfer-encoding)$/i.test(name))
  if (!framed && (data.length > 0 || !['GET', 'HEAD', 'OPTIONS'].includes(method))) {
    lines.push(`Content-Length: ${data.length}`)
  }
  return Buffer.concat([Buffer.from(lines.join('\r\n') + '\r\n\r\n'), data])
}
