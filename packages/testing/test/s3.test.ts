import { createHash, randomBytes } from 'node:crypto'
import { stat } from 'node:fs/promises'
import { Readable } from 'node:stream'
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  PutObjectCommand,
  UploadPartCommand
} from '@aws-sdk/client-s3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startS3Server, type TestS3Server } from '../src/s3.js'

const MiB = 1024 * 1024

function sha256 (data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex')
}

function chunked (data: Buffer, size: number): Readable {
  const chunks: Buffer[] = []
  for (let at = 0; at < data.length; at += size) chunks.push(data.subarray(at, at + size))
  return Readable.from(chunks)
}

describe('startS3Server', () => {
  let s3: TestS3Server

  beforeAll(async () => {
    s3 = await startS3Server({ bucket: 'helper-test' })
  })

  afterAll(async () => {
    await s3.close()
  })

  it('serves the bucket it was asked for on a local endpoint', async () => {
    expect(s3.bucket).toBe('helper-test')
    expect(s3.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)

    const head = await s3.client.send(new HeadBucketCommand({ Bucket: 'helper-test' }))
    expect(head.$metadata.httpStatusCode).toBe(200)

    await expect(s3.client.send(new HeadBucketCommand({ Bucket: 'other-bucket' })))
      .rejects.toMatchObject({ $metadata: { httpStatusCode: 404 } })
  })

  it('stores a streamed body byte for byte', async () => {
    const data = randomBytes(3 * MiB + 17)

    await s3.client.send(new PutObjectCommand({
      Bucket: s3.bucket, Key: 'stream/one.bin', Body: chunked(data, 64 * 1024), ContentLength: data.length
    }))

    const stored = await s3.readObject('stream/one.bin')
    expect(stored.length).toBe(data.length)
    expect(sha256(stored)).toBe(sha256(data))
  })

  it('lists keys under a prefix in order', async () => {
    for (const key of ['list/b', 'list/a', 'other/c']) {
      await s3.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: key, Body: key }))
    }

    expect(await s3.listObjects('list/')).toEqual(['list/a', 'list/b'])
  })

  it('lists and aborts an incomplete multipart upload', async () => {
    const key = 'multi/aborted.bin'
    const { UploadId } = await s3.client.send(new CreateMultipartUploadCommand({ Bucket: s3.bucket, Key: key }))
    await s3.client.send(new UploadPartCommand({
      Bucket: s3.bucket, Key: key, UploadId, PartNumber: 1, Body: randomBytes(5 * MiB)
    }))

    expect(await s3.listMultipartUploads()).toEqual([{ key, uploadId: UploadId }])

    const aborted = await s3.client.send(new AbortMultipartUploadCommand({ Bucket: s3.bucket, Key: key, UploadId }))
    expect(aborted.$metadata.httpStatusCode).toBe(204)
    expect(await s3.listMultipartUploads()).toEqual([])
    expect(await s3.listObjects('multi/')).toEqual([])

    await expect(s3.client.send(new AbortMultipartUploadCommand({ Bucket: s3.bucket, Key: key, UploadId })))
      .rejects.toMatchObject({ name: 'NoSuchUpload', $metadata: { httpStatusCode: 404 } })
  })

  it('refuses parts and completion for an upload it did not issue or already aborted', async () => {
    const key = 'multi/unknown.bin'
    const { UploadId } = await s3.client.send(new CreateMultipartUploadCommand({ Bucket: s3.bucket, Key: key }))
    await s3.client.send(new AbortMultipartUploadCommand({ Bucket: s3.bucket, Key: key, UploadId }))

    await expect(s3.client.send(new UploadPartCommand({
      Bucket: s3.bucket, Key: key, UploadId, PartNumber: 1, Body: Buffer.from('late part')
    }))).rejects.toMatchObject({ name: 'NoSuchUpload' })

    await expect(s3.client.send(new UploadPartCommand({
      Bucket: s3.bucket, Key: key, UploadId: '../../escape', PartNumber: 1, Body: Buffer.from('x')
    }))).rejects.toMatchObject({ name: 'NoSuchUpload' })

    await expect(s3.client.send(new CompleteMultipartUploadCommand({
      Bucket: s3.bucket, Key: key, UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: '"x"' }] }
    }))).rejects.toMatchObject({ name: 'NoSuchUpload' })

    expect(await s3.listMultipartUploads()).toEqual([])
    expect(await s3.listObjects('multi/')).toEqual([])
  })

  it('does not let one key abort the upload of another', async () => {
    const { UploadId } = await s3.client.send(new CreateMultipartUploadCommand({ Bucket: s3.bucket, Key: 'multi/mine' }))

    await expect(s3.client.send(new AbortMultipartUploadCommand({ Bucket: s3.bucket, Key: 'multi/theirs', UploadId })))
      .rejects.toMatchObject({ name: 'NoSuchUpload' })
    expect(await s3.listMultipartUploads()).toEqual([{ key: 'multi/mine', uploadId: UploadId }])

    await s3.client.send(new AbortMultipartUploadCommand({ Bucket: s3.bucket, Key: 'multi/mine', UploadId }))
    expect(await s3.listMultipartUploads()).toEqual([])
  })

  it('completes a multipart upload into one identical object', async () => {
    const key = 'multi/done.bin'
    const data = randomBytes(5 * MiB + 1)
    const { UploadId } = await s3.client.send(new CreateMultipartUploadCommand({
      Bucket: s3.bucket, Key: key, ContentType: 'image/png'
    }))

    const parts = []
    for (const [index, body] of [data.subarray(0, 5 * MiB), data.subarray(5 * MiB)].entries()) {
      const part = await s3.client.send(new UploadPartCommand({
        Bucket: s3.bucket, Key: key, UploadId, PartNumber: index + 1, Body: body
      }))
      parts.push({ PartNumber: index + 1, ETag: part.ETag })
    }
    await s3.client.send(new CompleteMultipartUploadCommand({
      Bucket: s3.bucket, Key: key, UploadId, MultipartUpload: { Parts: parts }
    }))

    expect(await s3.listMultipartUploads()).toEqual([])
    expect(sha256(await s3.readObject(key))).toBe(sha256(data))

    const head = await s3.client.send(new HeadObjectCommand({ Bucket: s3.bucket, Key: key }))
    expect(head.ContentType).toBe('image/png')
    expect(head.ContentLength).toBe(data.length)
  })
})

describe('startS3Server close', () => {
  it('stops answering and removes its directory', async () => {
    const s3 = await startS3Server()
    expect(s3.bucket).toBe('tessera-test')
    expect((await stat(s3.directory)).isDirectory()).toBe(true)

    await s3.close()

    await expect(stat(s3.directory)).rejects.toMatchObject({ code: 'ENOENT' })
    await expect(fetch(s3.endpoint)).rejects.toThrow(TypeError)
  })

  it('gives each server its own port and directory', async () => {
    const [a, b] = await Promise.all([startS3Server(), startS3Server()])

    expect(a.endpoint).not.toBe(b.endpoint)
    expect(a.directory).not.toBe(b.directory)

    await Promise.all([a.close(), b.close()])
  })
})
