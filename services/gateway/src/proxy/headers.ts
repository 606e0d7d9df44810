import type { IncomingHttpHeaders } from 'node:http'
import type { FastifyRequest } from 'fastify'

type Headers = Record<string, string | string[] | number | undefined>

/*
 * Hop-by-hop headers (RFC 9110 section 7.6.1) belong to one connection, never forwarded. reply-from
 * already drops `connection` and the names it lists. `expect` is answered by Node's server itself and
 * undici refuses to send it.
 */
const hopByHop = [
  'connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization',
  'te', 'trailer', 'transfer-encoding', 'upgrade', 'expect'
]

// What a client claims about earlier hops is replaced by what the gateway saw.
const forwarding = [
  'forwarded', 'x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto', 'x-forwarded-port', 'x-real-ip'
]

const token = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/

/** A `Forwarded` parameter value (RFC 7239): a token as is, anything else quoted. */
function forwardedValue (value: string): string {
  return token.test(value) ? value : `"${value.replace(/["\\]/g, '\\$&')}"`
}

function forwardedNode (address: string): string {
  return forwardedValue(address.includes(':') ? `[${address}]` : address)
}

/**
 * The headers an upstream receives: the client's, minus hop-by-hop and forwarding headers, plus the
 * gateway's own view of the connection and the request id. `request.ip` is the socket peer unless
 * TRUST_PROXY names the proxies in front, in which case it is the first address they vouch for.
 */
export function upstreamRequestHeaders (
  request: FastifyRequest,
  headers: Headers,
  withBody: boolean
): Headers {
  const out: Headers = { ...headers }
  for (const name of [...hopByHop, ...forwarding]) delete out[name]
  if (!withBody) delete out['content-length']

  // Fastify lists the trusted chain nearest first; X-Forwarded-For reads client first.
  const chain = request.ips === undefined ? [request.ip] : [...request.ips].reverse()
  const port = request.port ?? (request.protocol === 'https' ? 443 : 80)

  out['x-forwarded-for'] = chain.join(', ')
  out['x-forwarded-proto'] = request.protocol
  out['x-forwarded-port'] = String(port)
  if (request.host !== '') out['x-forwarded-host'] = request.host

  const params = [`for=${forwardedNode(request.ip)}`, `proto=${request.protocol}`]
  if (request.host !== '') params.push(`host=${forwardedValue(request.host)}`)
  out.forwarded = params.join(';')

  out['x-request-id'] = request.id
  return out
}

function varyList (value: unknown): string[] {
  if (value === undefined) return []
  return [value].flat().join(',').split(',').map((v) => v.trim()).filter((v) => v !== '')
}

/**
 * The headers the client receives from an upstream response: hop-by-hop ones dropped, CORS and the
 * request id left to the gateway, `Vary` merged with the gateway's own. Every `Set-Cookie` passes
 * through unchanged, as separate headers.
 */
export function clientResponseHeaders (headers: IncomingHttpHeaders, gatewayVary: unknown): Headers {
  const out: Headers = {}
  for (const [name, value] of Object.entries(headers)) {
    if (hopByHop.includes(name) || name === 'x-request-id' || name.startsWith('access-control-')) continue
    out[name] = value
  }

  const vary = [...new Set([...varyList(gatewayVary), ...varyList(headers.vary)])]
  if (vary.length > 0) out.vary = vary.join(', ')
  return out
}
