import { ConfigError, loadConfig } from '@tessera/config'
import { describe, expect, it } from 'vitest'
import { GatewayConfigSchema, listOf, trustProxyOf } from '../src/config.js'

describe('GatewayConfigSchema', () => {
  it('has working defaults for local development', () => {
    const config = loadConfig(GatewayConfigSchema, {})

    expect(config).toMatchObject({
      HOST: '127.0.0.1',
      PORT: 8080,
      METRICS_PORT: 9100,
      DEBUG: false,
      PROFILE_URL: 'http://127.0.0.1:8081',
      MEDIA_URL: 'http://127.0.0.1:8082',
      UPSTREAM_TIMEOUT_MS: 10_000,
      UPLOAD_TIMEOUT_MS: 120_000,
      MAX_UPLOAD_BODY_BYTES: 5 * 1024 * 1024 + 128 * 1024,
      CORS_ORIGINS: '',
      LOGIN_RATE_LIMIT: 10,
      UPLOAD_RATE_LIMIT: 30,
      RATE_LIMIT_WINDOW: 60
    })
    expect(config.REDIS_URL).toBeUndefined()
    expect(config.TRUST_PROXY).toBeUndefined()
  })

  it('accepts lists of replicas and origins', () => {
    const config = loadConfig(GatewayConfigSchema, {
      PROFILE_URL: 'http://profile-1:8081, http://profile-2:8081/',
      CORS_ORIGINS: 'https://app.example.com,http://localhost:5173'
    })

    expect(listOf(config.PROFILE_URL)).toEqual(['http://profile-1:8081', 'http://profile-2:8081/'])
    expect(listOf(config.CORS_ORIGINS)).toEqual(['https://app.example.com', 'http://localhost:5173'])
  })

  it.each([
    ['PROFILE_URL', 'profile:8081'],
    ['MEDIA_URL', 'http://a:1,,http://b:2'],
    ['CORS_ORIGINS', 'https://app.example.com/'],
    ['UPSTREAM_TIMEOUT_MS', '0'],
    ['LOGIN_RATE_LIMIT', 'many'],
    ['TRUST_PROXY', 'yes please']
  ])('names a bad %s', (key, value) => {
    expect(() => loadConfig(GatewayConfigSchema, { [key]: value })).toThrow(ConfigError)
    expect(() => loadConfig(GatewayConfigSchema, { [key]: value })).toThrow(`invalid configuration: ${key} `)
  })

  it('reads TRUST_PROXY as off, a hop count or an address list', () => {
    const hops = trustProxyOf('2') as (address: string, hop: number) => boolean

    expect(trustProxyOf(undefined)).toBe(false)
    expect(trustProxyOf('10.0.0.0/8, 127.0.0.1')).toBe('10.0.0.0/8, 127.0.0.1')
    expect([hops('10.0.0.1', 0), hops('10.0.0.1', 1), hops('10.0.0.1', 2)]).toEqual([true, true, false])
  })
})
