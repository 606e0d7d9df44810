import { Upload } from '@aws-sdk/lib-storage'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startS3Server, type TestS3Server } from '../../../../packages/testing/src/s3.js'
import { ControlledSource, MiB, watchCommands } from './helpers.js'

// The abort paths of uploads.ts are only as good as the test server's multipart support, so this
// checks it with lib-storage itself.
describe('the test S3 server with lib-storage', () => {
  let s3: TestS3Server

  beforeAll(async () => {
    s3 = await startS3Server()
  })

  afterAll(async () => {
    await s3.close()
  })

  it('is left with no upload and no object after Upload.abort()', async () => {
    const source = new ControlledSource(Buffer.alloc(12 * MiB, 1)).allow(6 * MiB)
    const commands = watchCommands(s3.client)
    const upload = new Upload({ client: s3.client, params: { Bucket: s3.bucket, Key: 'lib/aborted', Body: source } })

    const done = upload.done()
    await commands.answeredOnce('UploadPartCommand')
    expect(await s3.listMultipartUploads()).toEqual([{ key: 'lib/aborted', uploadId: upload.uploadId }])

    await upload.abort()
    await expect(done).rejects.toMatchObject({ name: 'AbortError' })

    // done() rejects before lib-storage sends AbortMultipartUpload, which it does only once its
    // workers have pulled from the body again. uploads.ts therefore never calls abort(): it
    // fails the body and waits for done() to settle.
    expect(commands.names).not.toContain('AbortMultipartUploadCommand')
    source.allow()
    await commands.answeredOnce('AbortMultipartUploadCommand')
    commands.stop()

    expect(await s3.listMultipartUploads()).toEqual([])
    expect(await s3.listObjects('lib/')).toEqual([])
  })

  it('is left with no upload and no object when the body fails', async () => {
    const source = new ControlledSource(Buffer.alloc(12 * MiB, 2)).allow(6 * MiB)
    const commands = watchCommands(s3.client)
    const upload = new Upload({ client: s3.client, params: { Bucket: s3.bucket, Key: 'lib/failed', Body: source } })

    const done = upload.done()
    await commands.answeredOnce('UploadPartCommand')
    source.fail(new Error('client went away'))

    await expect(done).rejects.toThrow('client went away')
    commands.stop()

    expect(commands.names).toEqual(['CreateMultipartUploadCommand', 'UploadPartCommand', 'AbortMultipartUploadCommand'])
    expect(await s3.listMultipartUploads()).toEqual([])
    expect(await s3.listObjects('lib/')).toEqual([])
  })
})
