import { randomBytes, randomUUID } from 'node:crypto'
import { finished } from 'node:stream/promises'
import { HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { startS3Server, type TestS3Server } from '../../../../packages/testing/src/s3.js'
import { MediaErrors } from '../../src/errors.js'
import { deleteThumbnail, uploadThumbnail, type UploadThumbnailOptions } from '../../src/storage/uploads.js'
import * as images from './fixtures/images.js'
import { byteStream, ControlledSource, MiB, sha256, tricklingStream, watchCommands } from './helpers.js'

const PREFIX = 'thumbnails/'
const ID = '[0-9A-HJKMNP-TV-Z]{26}'

let s3: TestS3Server
let watches: Array<{ stop (): void }> = []

beforeAll(async () => {
  s3 = await startS3Server()
})

afterAll(async () => {
  await s3.close()
})

afterEach(() => {
  for (const watch of watches) watch.stop()
  watches = []
})

function watch (fault?: Parameters<typeof watchCommands>[1]) {
  const watcher = watchCommands(s3.client, fault)
  watches.push(watcher)
  return watcher
}

function upload (userId: string, options: Partial<UploadThumbnailOptions> & Pick<UploadThumbnailOptions, 'source'>) {
  return uploadThumbnail({ client: s3.client, bucket: s3.bucket, userId, keyPrefix: PREFIX, ...options })
}

/** Nothing at all under the user's prefix: no object and no incomplete multipart upload. */
async function expectNothingLeft (userId: string) {
  expect(await s3.listObjects(`${PREFIX}${userId}/`)).toEqual([])
  expect(await s3.listMultipartUploads()).toEqual([])
}

/** A client for a port where nothing listens, trying once. */
function unreachableClient () {
  return new S3Client({
    endpoint: 'http://127.0.0.1:9',
    region: 'us-east-1',
    forcePathStyle: true,
    maxAttempts: 1,
    credentials: { accessKeyId: 'a', secretAccessKey: 'b' }
  })
}

async function head (key: string) {
  return s3.client.send(new HeadObjectCommand({ Bucket: s3.bucket, Key: key }))
}

describe('uploadThumbnail stores', () => {
  it('a 6 MiB PNG in two parts, byte for byte, with the right headers', async () => {
    const userId = randomUUID()
    const data = images.padded(images.png(), 6 * MiB)
    const commands = watch()

    const stored = await upload(userId, { source: byteStream(data), fileName: 'Holiday at the sea.PNG' })

    expect(stored).toEqual({
      key: expect.stringMatching(new RegExp(`^${PREFIX}${userId}/${ID}_Holiday-at-the-sea\\.png$`)),
      size: 6 * MiB,
      contentType: 'image/png'
    })
    expect(commands.names).toEqual([
      'CreateMultipartUploadCommand', 'UploadPartCommand', 'UploadPartCommand', 'CompleteMultipartUploadCommand'
    ])
    const partSizes = commands.sent.filter((c) => c.name === 'UploadPartCommand')
      .map((c) => (c.input.Body as Buffer).length).sort((a, b) => b - a)
    expect(partSizes).toEqual([5 * MiB, MiB])

    expect(await s3.listObjects(`${PREFIX}${userId}/`)).toEqual([stored.key])
    expect(await s3.listMultipartUploads()).toEqual([])
    expect(sha256(await s3.readObject(stored.key))).toBe(sha256(data))

    const headers = await head(stored.key)
    expect(headers.ContentType).toBe('image/png')
    expect(headers.ContentLength).toBe(6 * MiB)
    expect(headers.CacheControl).toBe('public, max-age=31536000, immutable')
    expect(headers.ContentDisposition)
      .toBe('inline; filename="Holiday-at-the-sea.png"; filename*=UTF-8\'\'Holiday-at-the-sea.png')
  })

  it('a file of exactly the limit with one PutObject, byte for byte', async () => {
    const userId = randomUUID()
    const data = images.padded(images.jpeg(), 5 * MiB)
    const commands = watch()

    const stored = await upload(userId, { source: byteStream(data, 100_000), fileName: 'me.jpeg', maxBytes: 5 * MiB })

    expect(stored.size).toBe(5 * MiB)
    expect(stored.contentType).toBe('image/jpeg')
    expect(stored.key).toMatch(new RegExp(`^${PREFIX}${userId}/${ID}_me\\.jpg$`))
    expect(commands.names).toEqual(['PutObjectCommand'])
    expect(sha256(await s3.readObject(stored.key))).toBe(sha256(data))
    expect((await head(stored.key)).ContentType).toBe('image/jpeg')
  })

  it.each([
    ['png', images.png(), 'image/png'],
    ['jpg', images.jpeg(), 'image/jpeg'],
    ['gif', images.gif(), 'image/gif'],
    ['webp', images.webp(), 'image/webp'],
    ['avif', images.avif(), 'image/avif']
  ])('a tiny %s under its detected type and extension', async (ext, data, contentType) => {
    const userId = randomUUID()

    const stored = await upload(userId, { source: byteStream(data), fileName: 'picture.bin' })

    expect(stored).toEqual({
      key: expect.stringMatching(new RegExp(`^${PREFIX}${userId}/${ID}_picture\\.${ext}$`)),
      size: data.length,
      contentType
    })
    expect(Buffer.compare(await s3.readObject(stored.key), data)).toBe(0)
    expect((await head(stored.key)).ContentType).toBe(contentType)
  })

  it('a PNG named .svg as a PNG: the bytes decide, not the name', async () => {
    const userId = randomUUID()

    const stored = await upload(userId, { source: byteStream(images.png()), fileName: 'drawing.svg' })

    expect(stored.key).toMatch(/_drawing\.png$/)
    expect(stored.contentType).toBe('image/png')
  })

  it('an image that arrives one byte at a time', async () => {
    const userId = randomUUID()
    const data = images.png()

    const stored = await upload(userId, { source: tricklingStream(data) })

    expect(stored.contentType).toBe('image/png')
    expect(stored.key).toMatch(new RegExp(`^${PREFIX}${userId}/${ID}_file\\.png$`))
    expect(Buffer.compare(await s3.readObject(stored.key), data)).toBe(0)
  })

  it('from a source the caller had paused', async () => {
    const source = byteStream(images.gif())
    source.pause()

    const stored = await upload(randomUUID(), { source })

    expect(stored.contentType).toBe('image/gif')
  })

  it('reports the bytes read as they arrive', async () => {
    const seen: number[] = []
    const data = images.padded(images.gif(), 300_000)

    await upload(randomUUID(), { source: byteStream(data, 100_000), onProgress: (bytes) => seen.push(bytes) })

    expect(seen).toEqual([100_000, 200_000, 300_000])
  })
})

describe('uploadThumbnail names', () => {
  it.each([
    ['../../etc/passwd', 'passwd'],
    ['a/b\\c', 'c'],
    ['..\\..\\boot.ini', 'boot'],
    ['tab\there\u0000nul\u001fus\u007fdel', 'tab-here-nul-us-del'],
    ['"quoted" and \'single\'', 'quoted-and-single'],
    ['evil\u202Egnp.js', 'evil-gnp'],
    ['x'.repeat(500), 'x'.repeat(64)],
    ['🐱 cat 🐶.png', 'cat'],
    ['猫の写真.png', '猫の写真'],
    ['صورة القطة.png', 'صورة-القطة'],
    ['Ünïcödé Çafé.png', 'Ünïcödé-Çafé']
  ])('%j is stored as %j inside the user\'s prefix', async (fileName, clean) => {
    const userId = randomUUID()

    const stored = await upload(userId, { source: byteStream(images.png()), fileName })

    expect(stored.key).toMatch(new RegExp(`^${PREFIX}${userId}/${ID}_`))
    expect(stored.key.slice(`${PREFIX}${userId}/`.length + 27)).toBe(`${clean}.png`)
    expect(await s3.listObjects(`${PREFIX}${userId}/`)).toEqual([stored.key])

    const disposition = (await head(stored.key)).ContentDisposition ?? ''
    expect(decodeURIComponent(disposition.split("UTF-8''")[1] ?? '')).toBe(`${clean}.png`)
  })
})

describe('uploadThumbnail refuses', () => {
  it.each([
    ['SVG', images.SVG],
    ['SVG with an XML declaration', images.SVG_WITH_XML_DECLARATION],
    ['HTML', images.HTML],
    ['a bare PNG signature', images.PNG_SIGNATURE],
    ['PDF', images.PDF],
    ['HEIC', images.heic()],
    ['plain text', Buffer.from('hello world')],
    ['random bytes', randomBytes(10_000)]
  ])('%s as unsupported, before talking to S3', async (_, data) => {
    const userId = randomUUID()
    const commands = watch()

    await expect(upload(userId, { source: byteStream(data), fileName: 'image.png' }))
      .rejects.toMatchObject({ code: 'MEDIA_UNSUPPORTED_TYPE', statusCode: 415 })

    expect(commands.names).toEqual([])
    await expectNothingLeft(userId)
  })

  it('an empty file as empty', async () => {
    const userId = randomUUID()
    const commands = watch()

    await expect(upload(userId, { source: byteStream(Buffer.alloc(0)), fileName: 'a.png' }))
      .rejects.toMatchObject({ code: 'MEDIA_EMPTY_FILE', statusCode: 400 })

    expect(commands.names).toEqual([])
    await expectNothingLeft(userId)
  })

  it('a source that has already ended as empty', async () => {
    const source = byteStream(Buffer.alloc(0))
    source.resume()
    await finished(source)

    await expect(upload(randomUUID(), { source })).rejects.toMatchObject({ code: 'MEDIA_EMPTY_FILE' })
  })

  it('a source destroyed just before the call, without an uncaught error', async () => {
    // Called from a macrotask, as an event handler would be: the stream's pending 'error' is
    // emitted before any promise continuation of uploadThumbnail runs.
    const [errored, closed] = await new Promise<Array<Promise<unknown>>>((resolve) => setImmediate(() => {
      const failing = byteStream(images.png())
      failing.destroy(new Error('gone'))
      const ending = byteStream(images.png())
      ending.destroy()

      resolve([upload(randomUUID(), { source: failing }), upload(randomUUID(), { source: ending })])
    }))

    await expect(errored).rejects.toMatchObject({ code: 'MEDIA_UPLOAD_ABORTED', cause: { message: 'gone' } })
    await expect(closed).rejects.toMatchObject({ code: 'MEDIA_UPLOAD_ABORTED' })
  })

  it('more than maxBytes as too large, leaving nothing', async () => {
    const userId = randomUUID()
    const source = byteStream(images.padded(images.png(), 5 * MiB + 1))

    await expect(upload(userId, { source, maxBytes: 5 * MiB }))
      .rejects.toMatchObject({ code: 'MEDIA_TOO_LARGE', statusCode: 413, message: `the file must not be larger than ${5 * MiB} bytes` })

    await expectNothingLeft(userId)
  })

  it('and drains the rest of a source it did not need', async () => {
    const source = byteStream(Buffer.concat([images.SVG, Buffer.alloc(MiB, 0x20)]))

    await expect(upload(randomUUID(), { source })).rejects.toMatchObject({ code: 'MEDIA_UNSUPPORTED_TYPE' })

    await finished(source)
    expect(source.readableEnded).toBe(true)
  })

  it('bad tuning or ids before reading anything', async () => {
    const source = byteStream(images.png())

    await expect(upload(randomUUID(), { source, partSize: MiB })).rejects.toThrow(RangeError)
    await expect(upload(randomUUID(), { source, queueSize: 0 })).rejects.toThrow(RangeError)
    await expect(upload('not-a-uuid', { source })).rejects.toThrow(TypeError)
    await expect(upload(randomUUID(), { source, keyPrefix: '../' })).rejects.toThrow(TypeError)
    expect(source.readableFlowing).toBe(null)
  })
})

describe('uploadThumbnail leaves nothing behind when', () => {
  it('the source fails before any part is complete', async () => {
    const userId = randomUUID()
    const source = new ControlledSource(images.padded(images.png(), 6 * MiB)).allow(MiB)
    const commands = watch()

    let received!: () => void
    const oneMiB = new Promise<void>((resolve) => { received = resolve })

    const pending = upload(userId, { source, onProgress: (bytes) => { if (bytes === MiB) received() } })
    await oneMiB
    source.fail()

    await expect(pending).rejects.toMatchObject({ code: 'MEDIA_UPLOAD_ABORTED', statusCode: 400 })
    expect(commands.names).not.toContain('CreateMultipartUploadCommand')
    await expectNothingLeft(userId)
  })

  it('the source fails after a part was uploaded', async () => {
    const userId = randomUUID()
    const source = new ControlledSource(images.padded(images.png(), 12 * MiB)).allow(5.5 * MiB)
    const commands = watch()

    const pending = upload(userId, { source })
    await commands.answeredOnce('UploadPartCommand')
    const reset = Object.assign(new Error('aborted'), { code: 'ECONNRESET' })
    source.fail(reset)

    const error = await pending.catch((e: unknown) => e)
    expect(error).toBeInstanceOf(MediaErrors.uploadAborted)
    expect((error as Error).cause).toBe(reset)
    expect(commands.names).toContain('AbortMultipartUploadCommand')
    await expectNothingLeft(userId)
  })

  it('the source fails with a media error, which is passed on', async () => {
    const userId = randomUUID()
    const source = new ControlledSource(images.padded(images.png(), 12 * MiB)).allow(6 * MiB)
    const commands = watch()

    const pending = upload(userId, { source })
    await commands.answeredOnce('UploadPartCommand')
    source.fail(MediaErrors.tooLarge(5 * MiB))

    await expect(pending).rejects.toMatchObject({ code: 'MEDIA_TOO_LARGE', statusCode: 413 })
    await expectNothingLeft(userId)
  })

  it('the signal aborts mid-stream', async () => {
    const userId = randomUUID()
    const source = new ControlledSource(images.padded(images.png(), 12 * MiB)).allow(5.5 * MiB)
    const commands = watch()
    const controller = new AbortController()

    const pending = upload(userId, { source, signal: controller.signal })
    await commands.answeredOnce('UploadPartCommand')
    controller.abort()

    await expect(pending).rejects.toMatchObject({ code: 'MEDIA_UPLOAD_ABORTED' })
    expect(commands.names).toContain('AbortMultipartUploadCommand')
    await expectNothingLeft(userId)
  })

  it('the signal aborts while the head is still arriving', async () => {
    const userId = randomUUID()
    const source = new ControlledSource(images.png()).allow(10)
    const controller = new AbortController()

    const pending = upload(userId, { source, signal: controller.signal })
    setTimeout(() => controller.abort(MediaErrors.tooLarge(1)), 10)

    await expect(pending).rejects.toMatchObject({ code: 'MEDIA_TOO_LARGE' })
    await expectNothingLeft(userId)
  })

  it('the signal was aborted before the call', async () => {
    const userId = randomUUID()
    const commands = watch()

    await expect(upload(userId, { source: byteStream(images.png()), signal: AbortSignal.abort() }))
      .rejects.toMatchObject({ code: 'MEDIA_UPLOAD_ABORTED' })

    expect(commands.names).toEqual([])
  })

  it('the signal aborts while the PutObject of a small file is in flight', async () => {
    const userId = randomUUID()
    const controller = new AbortController()
    const commands = watch({
      after: (name) => { if (name === 'PutObjectCommand') controller.abort() }
    })

    await expect(upload(userId, { source: byteStream(images.png()), signal: controller.signal }))
      .rejects.toMatchObject({ code: 'MEDIA_UPLOAD_ABORTED' })

    expect(commands.names).toEqual(['PutObjectCommand', 'DeleteObjectCommand'])
    await expectNothingLeft(userId)
  })

  it('S3 refuses a part', async () => {
    const userId = randomUUID()
    const commands = watch({
      before: (name, input) => {
        if (name === 'UploadPartCommand' && input.PartNumber === 2) input.UploadId = 'f'.repeat(32)
      }
    })

    const error = await upload(userId, { source: byteStream(images.padded(images.png(), 11 * MiB)) })
      .catch((e: unknown) => e)

    expect(error).toMatchObject({ code: 'MEDIA_STORAGE_FAILED', statusCode: 500 })
    expect((error as Error).cause).toMatchObject({ name: 'NoSuchUpload' })
    expect(commands.names).toContain('AbortMultipartUploadCommand')
    await expectNothingLeft(userId)
  })

  it('the abort that lib-storage sends itself fails', async () => {
    const userId = randomUUID()
    let refused = 0
    const commands = watch({
      before: (name) => {
        if (name === 'AbortMultipartUploadCommand' && refused++ === 0) throw new Error('connection reset')
      }
    })
    const source = new ControlledSource(images.padded(images.png(), 12 * MiB)).allow(5.5 * MiB)

    const pending = upload(userId, { source })
    await commands.answeredOnce('UploadPartCommand')
    source.fail()

    await expect(pending).rejects.toMatchObject({ code: 'MEDIA_UPLOAD_ABORTED' })
    expect(commands.names.filter((name) => name === 'AbortMultipartUploadCommand')).toHaveLength(2)
    await expectNothingLeft(userId)
  })

  it('CompleteMultipartUpload stored the object but its answer was lost', async () => {
    const userId = randomUUID()
    const commands = watch({
      after: (name) => { if (name === 'CompleteMultipartUploadCommand') throw new Error('socket hang up') }
    })

    await expect(upload(userId, { source: byteStream(images.padded(images.png(), 6 * MiB)) }))
      .rejects.toMatchObject({ code: 'MEDIA_STORAGE_FAILED' })

    expect(commands.names).toContain('DeleteObjectCommand')
    await expectNothingLeft(userId)
  })

  it('PutObject stored the object but its answer was lost', async () => {
    const userId = randomUUID()
    watch({ after: (name) => { if (name === 'PutObjectCommand') throw new Error('socket hang up') } })

    await expect(upload(userId, { source: byteStream(images.png()) }))
      .rejects.toMatchObject({ code: 'MEDIA_STORAGE_FAILED' })

    await expectNothingLeft(userId)
  })

  it('CreateMultipartUpload created an upload but its answer was lost', async () => {
    const userId = randomUUID()
    const commands = watch({
      after: (name) => { if (name === 'CreateMultipartUploadCommand') throw new Error('socket hang up') }
    })

    await expect(upload(userId, { source: byteStream(images.padded(images.png(), 6 * MiB)) }))
      .rejects.toMatchObject({ code: 'MEDIA_STORAGE_FAILED' })

    expect(commands.names).toContain('ListMultipartUploadsCommand')
    expect(commands.names).toContain('AbortMultipartUploadCommand')
    await expectNothingLeft(userId)
  })

  it('the bucket does not exist', async () => {
    const userId = randomUUID()

    await expect(uploadThumbnail({
      client: s3.client, bucket: 'no-such-bucket', userId, keyPrefix: PREFIX, source: byteStream(images.png())
    })).rejects.toMatchObject({ code: 'MEDIA_STORAGE_FAILED', cause: { name: 'NoSuchBucket' } })

    await expectNothingLeft(userId)
  })

  it('S3 cannot be reached, and says so in the log', async () => {
    const client = unreachableClient()
    const logged: Array<{ object: object, message: string }> = []

    await expect(uploadThumbnail({
      client,
      bucket: s3.bucket,
      userId: randomUUID(),
      keyPrefix: PREFIX,
      source: byteStream(images.png()),
      log: { error: (object, message) => logged.push({ object, message }) }
    })).rejects.toMatchObject({ code: 'MEDIA_STORAGE_FAILED', cause: { code: 'ECONNREFUSED' } })

    expect(logged.map((entry) => entry.message)).toEqual(['could not discard a failed upload'])
    expect(logged[0]?.object).toMatchObject({ operation: 'media.upload.discard', err: { code: 'ECONNREFUSED' } })
    client.destroy()
  })
})

describe('deleteThumbnail', () => {
  it('deletes an object', async () => {
    const key = `${PREFIX}${randomUUID()}/01HZX3N5R8V7QK2M4T6W9Y0ABC_a.png`
    await s3.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: key, Body: images.png() }))

    await deleteThumbnail({ client: s3.client, bucket: s3.bucket, key })

    expect(await s3.listObjects(key)).toEqual([])
  })

  it('says not found for a missing object', async () => {
    const key = `${PREFIX}${randomUUID()}/01HZX3N5R8V7QK2M4T6W9Y0ABC_a.png`
    const commands = watch()

    await expect(deleteThumbnail({ client: s3.client, bucket: s3.bucket, key }))
      .rejects.toMatchObject({ code: 'MEDIA_NOT_FOUND', statusCode: 404 })
    expect(commands.names).toEqual(['HeadObjectCommand'])
  })

  it('says storage failed when S3 cannot be reached', async () => {
    const client = unreachableClient()

    await expect(deleteThumbnail({ client, bucket: s3.bucket, key: 'x' }))
      .rejects.toMatchObject({ code: 'MEDIA_STORAGE_FAILED', statusCode: 500 })
    client.destroy()
  })
})
