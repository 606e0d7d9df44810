import { describe, expect, it } from 'vitest'
import { ConfigError, ConfigTypes, Type, loadConfig } from '../src/index.js'

const schema = Type.Object({
  PORT: ConfigTypes.Port(3000),
  DATABASE_URL: ConfigTypes.Url(),
  COOKIE_SECURE: ConfigTypes.Bool(true),
  LOG_LEVEL: ConfigTypes.LogLevel(),
  SESSION_TTL: ConfigTypes.Seconds(86400)
})

describe('loadConfig', () => {
  it('applies defaults and converts strings to their declared types', () => {
    const config = loadConfig(schema, { DATABASE_URL: 'postgres://x@h/db', COOKIE_SECURE: 'false', PORT: '8080' })
    expect(config).toEqual({
      PORT: 8080,
      DATABASE_URL: 'postgres://x@h/db',
      COOKIE_SECURE: false,
      LOG_LEVEL: 'info',
      SESSION_TTL: 86400
    })
  })

  it('names a missing required key', () => {
    expect(() => loadConfig(schema, {})).toThrow(new ConfigError('DATABASE_URL', 'is required'))
  })

  it('names a malformed value and what it must be', () => {
    const env = { DATABASE_URL: 'postgres://h/db', PORT: 'eighty' }
    expect(() => loadConfig(schema, env)).toThrow('invalid configuration: PORT must be an integer between 0 and 65535 (got "eighty")')
  })

  it('rejects an out-of-range number', () => {
    expect(() => loadConfig(schema, { DATABASE_URL: 'postgres://h/db', PORT: '70000' })).toThrow(/PORT must be an integer/)
  })

  it('rejects a value outside an enumeration', () => {
    expect(() => loadConfig(schema, { DATABASE_URL: 'postgres://h/db', LOG_LEVEL: 'loud' }))
      .toThrow('invalid configuration: LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent (got "loud")')
  })

  it('rejects a URL without a scheme', () => {
    expect(() => loadConfig(schema, { DATABASE_URL: 'localhost:5432' }))
      .toThrow('invalid configuration: DATABASE_URL must be an absolute URL (got "localhost:5432")')
  })

  it('never echoes credentials of a malformed URL', () => {
    expect(() => loadConfig(schema, { DATABASE_URL: 'postgres://admin:s3cret@db:5432 x' }))
      .toThrow('invalid configuration: DATABASE_URL must be an absolute URL (got "postgres://[redacted]@db:5432 x")')
  })

  it('never echoes the value of a secret', () => {
    const withSecret = Type.Object({ MEDIA_URL_SECRET: ConfigTypes.Secret() })
    expect(() => loadConfig(withSecret, { MEDIA_URL_SECRET: 'short-secret' }))
      .toThrow(new ConfigError('MEDIA_URL_SECRET', 'must be at least 32 characters'))
    expect(loadConfig(withSecret, { MEDIA_URL_SECRET: 'x'.repeat(32) })).toEqual({ MEDIA_URL_SECRET: 'x'.repeat(32) })
  })

  it('treats an empty value as unset', () => {
    expect(loadConfig(schema, { DATABASE_URL: 'postgres://h/db', PORT: '' }).PORT).toBe(3000)
  })
})
