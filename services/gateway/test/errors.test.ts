import { describe, expect, it } from 'vitest'
import { GatewayErrors, gatewayErrorDocs } from '../src/errors.js'

describe('the error catalogue', () => {
  const errors = Object.values(GatewayErrors).map((GatewayError) => new GatewayError('1'))

  it('documents every code, and nothing else', () => {
    expect(errors.map((err) => err.code).sort()).toEqual(Object.keys(gatewayErrorDocs).sort())
    for (const text of Object.values(gatewayErrorDocs)) expect(text.length).toBeGreaterThan(20)
  })

  it('prefixes every code with GATEWAY_ and gives it its status', () => {
    expect(Object.fromEntries(errors.map((err) => [err.code, err.statusCode]))).toEqual({
      GATEWAY_UPSTREAM_UNAVAILABLE: 503,
      GATEWAY_UPSTREAM_TIMEOUT: 504,
      GATEWAY_BAD_GATEWAY: 502,
      GATEWAY_RATE_LIMITED: 429,
      GATEWAY_BAD_PATH: 400,
      GATEWAY_MALFORMED_REQUEST: 400,
      GATEWAY_REQUEST_TIMEOUT: 408,
      GATEWAY_HEADERS_TOO_LARGE: 431,
      GATEWAY_PAYLOAD_TOO_LARGE: 413,
      GATEWAY_UPSTREAM_REJECTED: 400
    })
  })
})
