import { ConfigError, loadConfig } from '@tessera/config'
import { describe, expect, it } from 'vitest'
import { buildApp } from '../src/app.js'
import { checkProfileConfig, ProfileConfigSchema } from '../src/config.js'

const DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/test'

describe('profile config', () => {
  it('has these defaults', () => {
    expect(loadConfig(ProfileConfigSchema, { DATABASE_URL })).toEqual({
      HOST: '127.0.0.1',
      PORT: 8081,
      METRICS_PORT: 9101,
      LOG_LEVEL: 'info',
      SHUTDOWN_GRACE_MS: 10_000,
      REQUEST_TIMEOUT_MS: 30_000,
      DATABASE_URL,
      PG_POOL_MAX: 10,
      MIGRATE_ON_START: true,
      REDIS_KEY_PREFIX: '',
      SESSION_TTL: 86_400,
      COOKIE_SECURE: true,
      TOKEN_TTL: 900,
      MAIL_FROM: 'Tessera <no-reply@tessera.local>',
      FRONTEND_URL: 'http://localhost:5173',
      S3_PUBLIC_URL: 'http://127.0.0.1:9000/tessera',
      S3_KEY_PREFIX: 'thumbnails/',
      ARGON2_MEMORY_KIB: 19_456,
      ARGON2_TIME_COST: 2,
      ARGON2_PARALLELISM: 1,
      RATE_LIMIT_LOGIN_MAX: 5,
      RATE_LIMIT_LOGIN_WINDOW: 900,
      RATE_LIMIT_MAIL_MAX: 5,
      RATE_LIMIT_MAIL_WINDOW: 3600
    })
  })

  it('refuses argon2 memory below the OWASP floor in the schema', () => {
    expect(() => loadConfig(ProfileConfigSchema, { DATABASE_URL, ARGON2_MEMORY_KIB: '4096' }))
      .toThrow(new ConfigError('ARGON2_MEMORY_KIB', 'must be an integer between 7168 and 4194304 (got "4096")'))
  })

  it('checks what the schema cannot, naming the key and never echoing a secret', () => {
    const check = (env: Record<string, string>) => () =>
      checkProfileConfig(loadConfig(ProfileConfigSchema, { DATABASE_URL, ...env }))

    expect(check({ PHONE_REGION: 'ZZ' }))
      .toThrow('invalid configuration: PHONE_REGION must be a region code the phone library knows (got "ZZ")')
    expect(check({ TOKEN_SECRET: 'hunter2' }))
      .toThrow(new ConfigError('TOKEN_SECRET', 'must be at least 32 characters long'))
    expect(check({ PHONE_REGION: 'US', TOKEN_SECRET: 'x'.repeat(32) })).not.toThrow()
  })

  it('makes buildApp refuse a bad value before it connects to anything', async () => {
    const unreachable = 'postgres://postgres@127.0.0.1:1/none'
    const build = (env: Record<string, string>) =>
      buildApp(loadConfig(ProfileConfigSchema, { DATABASE_URL: unreachable, ...env }), { logger: false })

    await expect(build({ TOKEN_SECRET: 'too short' }))
      .rejects.toThrow(new ConfigError('TOKEN_SECRET', 'must be at least 32 characters long'))
    const argon2 = 'is too low for ARGON2_MEMORY_KIB=7168: ' +
      'argon2 settings m=7168 t=4 p=1 are below the OWASP minimum'
    await expect(build({ ARGON2_MEMORY_KIB: '7168', ARGON2_TIME_COST: '4' }))
      .rejects.toThrow(new ConfigError('ARGON2_TIME_COST', argon2))
    await expect(build({ S3_PUBLIC_URL: 'http://[::1' }))
      .rejects.toThrow('invalid configuration: S3_PUBLIC_URL public URL "http://[::1" is not a URL')
  })
})
