import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { ConfigError } from '@tessera/config'
import { getFreePort, startS3Server, waitForUrl, type TestS3Server } from '@tessera/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadMediaConfig } from '../src/config.js'
import { mediaEnv } from './helpers.js'

const MiB = 1024 * 1024
const required = { S3_BUCKET: 'media', S3_PUBLIC_URL: 'https://media.example.com' }

function errorOf (env: NodeJS.ProcessEnv): ConfigError {
  try {
    loadMediaConfig(env)
  } catch (err) {
    if (err instanceof ConfigError) return err
    throw err
  }
  throw new Error('the configuration was accepted')
}

describe('loadMediaConfig', () => {
  it('fills in the defaults', () => {
    expect(loadMediaConfig({})).toEqual({
      HOST: '127.0.0.1',
      PORT: 8082,
      METRICS_PORT: 9102,
      LOG_LEVEL: 'info',
      SHUTDOWN_GRACE_MS: 10_000,
      REQUEST_TIMEOUT_MS: 120_000,
      REDIS_KEY_PREFIX: '',
      SESSION_TTL: 86_400,
      COOKIE_SECURE: true,
      S3_REGION: 'us-east-1',
      S3_BUCKET: 'tessera',
      S3_FORCE_PATH_STYLE: false,
      S3_CHECKSUM_WHEN_REQUIRED: true,
      S3_PUBLIC_URL: 'http://127.0.0.1:9000/tessera',
      S3_KEY_PREFIX: 'thumbnails/',
      S3_CREATE_BUCKET: false,
      MAX_THUMBNAIL_BYTES: 5 * MiB,
      UPLOAD_PART_SIZE: 5 * MiB,
      UPLOAD_QUEUE_SIZE: 2
    })
  })

  it('reads every key', () => {
    const config = loadMediaConfig({
      ...required,
      HOST: '0.0.0.0',
      PORT: '9000',
      S3_REGION: 'eu-west-1',
      REDIS_URL: 'redis://redis:6379',
      REDIS_KEY_PREFIX: 'tessera:',
      COOKIE_SECURE: 'false',
      S3_ENDPOINT: 'http://minio:9000',
      S3_ACCESS_KEY_ID: 'id',
      S3_SECRET_ACCESS_KEY: 'secret',
      S3_FORCE_PATH_STYLE: 'true',
      S3_KEY_PREFIX: 'media/thumbs/',
      S3_CREATE_BUCKET: 'true',
      MAX_THUMBNAIL_BYTES: '1000',
      UPLOAD_PART_SIZE: String(8 * MiB),
      UPLOAD_QUEUE_SIZE: '4'
    })

    expect(config).toMatchObject({
      HOST: '0.0.0.0',
      PORT: 9000,
      S3_REGION: 'eu-west-1',
      S3_BUCKET: 'media',
      S3_PUBLIC_URL: 'https://media.example.com',
      REDIS_URL: 'redis://redis:6379',
      REDIS_KEY_PREFIX: 'tessera:',
      COOKIE_SECURE: false,
      S3_ENDPOINT: 'http://minio:9000',
      S3_ACCESS_KEY_ID: 'id',
      S3_SECRET_ACCESS_KEY: 'secret',
      S3_FORCE_PATH_STYLE: true,
      S3_KEY_PREFIX: 'media/thumbs/',
      S3_CREATE_BUCKET: true,
      MAX_THUMBNAIL_BYTES: 1000,
      UPLOAD_PART_SIZE: 8 * MiB,
      UPLOAD_QUEUE_SIZE: 4
    })
  })

  // @tessera/config reads an empty variable as an unset one.
  it('takes an empty S3_KEY_PREFIX for the default', () => {
    expect(loadMediaConfig({ ...required, S3_KEY_PREFIX: '' }).S3_KEY_PREFIX).toBe('thumbnails/')
  })

  it.each([
    [{ PORT: 'http' }, 'PORT', 'invalid configuration: PORT must be an integer between 0 and 65535 (got "http")'],
    [{ S3_BUCKET: 'Bad_Bucket' }, 'S3_BUCKET',
      'invalid configuration: S3_BUCKET must be an S3 bucket name (3-63 lowercase letters, digits, "." and "-") (got "Bad_Bucket")'],
    [{ S3_PUBLIC_URL: 'https://cdn.example.com/?x=1' }, 'S3_PUBLIC_URL',
      'invalid configuration: S3_PUBLIC_URL must be an http(s) URL without credentials, query or fragment (got "https://cdn.example.com/?x=1")'],
    [{ S3_PUBLIC_URL: 'ftp://cdn.example.com' }, 'S3_PUBLIC_URL', undefined],
    [{ S3_PUBLIC_URL: 'https://user@cdn.example.com' }, 'S3_PUBLIC_URL', undefined],
    [{ S3_KEY_PREFIX: 'thumbnails' }, 'S3_KEY_PREFIX', undefined],
    [{ S3_KEY_PREFIX: '../' }, 'S3_KEY_PREFIX', undefined],
    [{ S3_KEY_PREFIX: 'a//' }, 'S3_KEY_PREFIX', undefined],
    [{ S3_KEY_PREFIX: '/thumbnails/' }, 'S3_KEY_PREFIX', undefined],
    [{ S3_KEY_PREFIX: 'a b/' }, 'S3_KEY_PREFIX', undefined],
    [{ S3_ACCESS_KEY_ID: 'id' }, 'S3_SECRET_ACCESS_KEY',
      'invalid configuration: S3_SECRET_ACCESS_KEY is required when its pair is set'],
    [{ S3_SECRET_ACCESS_KEY: 'secret' }, 'S3_ACCESS_KEY_ID', undefined],
    [{ MAX_THUMBNAIL_BYTES: '0' }, 'MAX_THUMBNAIL_BYTES', undefined],
    [{ MAX_THUMBNAIL_BYTES: '5MB' }, 'MAX_THUMBNAIL_BYTES', undefined],
    [{ UPLOAD_PART_SIZE: String(MiB) }, 'UPLOAD_PART_SIZE', undefined],
    [{ UPLOAD_QUEUE_SIZE: '0' }, 'UPLOAD_QUEUE_SIZE', undefined],
    [{ S3_CREATE_BUCKET: 'yes' }, 'S3_CREATE_BUCKET',
      'invalid configuration: S3_CREATE_BUCKET must be true or false (got "yes")'],
    [{ REDIS_URL: 'localhost:6379' }, 'REDIS_URL', undefined],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL', undefined]
  ])('refuses %j, naming %s', (overrides, key, message) => {
    const error = errorOf({ ...required, ...overrides })

    expect(error.key).toBe(key)
    expect(error.message.startsWith(`invalid configuration: ${key} `)).toBe(true)
    if (message !== undefined) expect(error.message).toBe(message)
  })
})

const serverPath = fileURLToPath(new URL('../src/server.ts', import.meta.url))
const serviceDir = fileURLToPath(new URL('..', import.meta.url))

interface Exit {
  code: number | null
  signal: NodeJS.Signals | null
  stderr: string
}

/** Runs `src/server.ts` as `pnpm start` does, with exactly `env` (and PATH). */
function startServer (env: NodeJS.ProcessEnv) {
  const child = spawn(process.execPath, ['--import', 'tsx', serverPath], {
    cwd: serviceDir,
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'ignore', 'pipe']
  })

  let stderr = ''
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk })
  const exited = new Promise<Exit>((resolve) => {
    child.on('exit', (code, signal) => resolve({ code, signal, stderr }))
  })

  return { child, exited }
}

describe('src/server.ts', () => {
  let s3: TestS3Server

  beforeAll(async () => {
    s3 = await startS3Server()
  })

  afterAll(async () => {
    await s3.close()
  })

  it('stops at boot with one line naming a bad key', async () => {
    const { exited } = startServer({ ...mediaEnv(s3), MAX_THUMBNAIL_BYTES: 'lots' })

    expect(await exited).toEqual({
      code: 1,
      signal: null,
      stderr: 'invalid configuration: MAX_THUMBNAIL_BYTES must be an integer between 1 and 1073741824 (got "lots")\n'
    })
  })

  it('stops at boot with one line naming a key the schema cannot check', async () => {
    const { exited } = startServer({ ...mediaEnv(s3), S3_KEY_PREFIX: 'x/../' })

    const exit = await exited
    expect(exit.code).toBe(1)
    expect(exit.stderr).toMatch(/^invalid configuration: S3_KEY_PREFIX [^\n]+\n$/)
  })

  it('serves, and exits cleanly on SIGTERM', async () => {
    const port = await getFreePort()
    const { child, exited } = startServer({
      ...mediaEnv(s3),
      // The AWS SDK warns about Node 20 on stderr; nothing else may appear there.
      NODE_NO_WARNINGS: '1',
      PORT: String(port),
      METRICS_PORT: String(await getFreePort())
    })

    expect(await waitForUrl(`http://127.0.0.1:${port}/readyz`, { timeoutMs: 20_000 })).toBe(200)
    child.kill('SIGTERM')

    expect(await exited).toEqual({ code: 0, signal: null, stderr: '' })
  })
})
