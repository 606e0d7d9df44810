import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startS3Server, type TestS3Server } from '../../../../packages/testing/src/s3.js'
import { bucketReachable, createS3Client, type S3Config } from '../../src/storage/s3-client.js'
import { byteStream, MiB, sha256 } from './helpers.js'

let s3: TestS3Server

beforeAll(async () => {
  s3 = await startS3Server()
})

afterAll(async () => {
  await s3.close()
})

function config (overrides: Partial<S3Config> = {}): S3Config {
  return {
    endpoint: s3.endpoint,
    region: s3.region,
    accessKeyId: s3.accessKeyId,
    secretAccessKey: s3.secretAccessKey,
    forcePathStyle: true,
    checksumWhenRequired: true,
    ...overrides
  }
}

describe('createS3Client', () => {
  it('checksums only when required, or whenever supported', async () => {
    const strict = createS3Client(config())
    const loose = createS3Client(config({ checksumWhenRequired: false }))

    expect(await strict.config.requestChecksumCalculation()).toBe('WHEN_REQUIRED')
    expect(await strict.config.responseChecksumValidation()).toBe('WHEN_REQUIRED')
    expect(await loose.config.requestChecksumCalculation()).toBe('WHEN_SUPPORTED')
    expect(await loose.config.responseChecksumValidation()).toBe('WHEN_SUPPORTED')

    strict.destroy()
    loose.destroy()
  })

  it('uses path style, the region and the given credentials', async () => {
    const client = createS3Client(config({ region: 'eu-west-1' }))

    expect(client.config.forcePathStyle).toBe(true)
    expect(await client.config.region()).toBe('eu-west-1')
    expect(await client.config.credentials()).toMatchObject({ accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' })
    client.destroy()
  })

  it('stores a streamed body intact on s3rver', async () => {
    const client = createS3Client(config())
    const data = Buffer.alloc(2 * MiB + 3, 7)

    await client.send(new PutObjectCommand({
      Bucket: s3.bucket, Key: 'client/stream', Body: byteStream(data), ContentLength: data.length
    }))
    const object = await client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: 'client/stream' }))

    expect(sha256(await object.Body!.transformToByteArray())).toBe(sha256(data))
    client.destroy()
  })

  it('refuses half a key pair', () => {
    expect(() => createS3Client(config({ secretAccessKey: undefined }))).toThrow(TypeError)
    expect(() => createS3Client(config({ accessKeyId: undefined }))).toThrow(TypeError)
  })
})

describe('bucketReachable', () => {
  it('is true for the bucket', async () => {
    const client = createS3Client(config())

    expect(await bucketReachable(client, s3.bucket)).toBe(true)
    client.destroy()
  })

  it('is false for a missing bucket', async () => {
    const client = createS3Client(config())

    expect(await bucketReachable(client, 'missing-bucket')).toBe(false)
    client.destroy()
  })

  // s3rver checks the access key id of a V4 signature but not the signature itself.
  it('is false for an unknown access key', async () => {
    const client = createS3Client(config({ accessKeyId: 'NOBODY' }))

    expect(await bucketReachable(client, s3.bucket)).toBe(false)
    client.destroy()
  })

  it('is false when nothing listens', async () => {
    const client = createS3Client(config({ endpoint: 'http://127.0.0.1:9' }))

    expect(await bucketReachable(client, s3.bucket)).toBe(false)
    client.destroy()
  })

  describe('against a server that never answers', () => {
    let silent: Server

    beforeAll(async () => {
      silent = createServer(() => {})
      await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
    })

    afterAll(async () => {
      silent.closeAllConnections()
      await new Promise((resolve) => silent.close(resolve))
    })

    it('is false once the timeout passes', async () => {
      const { port } = silent.address() as AddressInfo
      const client = createS3Client(config({ endpoint: `http://127.0.0.1:${port}` }))

      expect(await bucketReachable(client, s3.bucket, { timeoutMs: 100 })).toBe(false)
      client.destroy()
    })
  })
})
