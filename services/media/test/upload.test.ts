import { HeadObjectCommand } from '@aws-sdk/client-s3'
import { request } from 'undici'
import { describe, expect, it } from 'vitest'
import { eventually, expectNothingStored, KEY_FILE, metricValue, MiB, PREFIX, useMediaApp } from './helpers.js'
import { multipart, RawConnection, requestHead, thumbnail, type Part } from './http.js'
import * as images from './storage/fixtures/images.js'
import { sha256 } from './storage/helpers.js'

const MAX = 7 * MiB
const ctx = useMediaApp({ env: { MAX_THUMBNAIL_BYTES: String(MAX) } })

async function upload (cookie: string | undefined, parts: Part[]) {
  const form = multipart(parts)
  const headers: Record<string, string> = { 'content-type': form.contentType }
  if (cookie !== undefined) headers.cookie = cookie

  const response = await request(`${ctx.url()}/file/upload/`, { method: 'POST', headers, body: form.body })
  const text = await response.body.text()
  return { status: response.statusCode, headers: response.headers, text, json: () => JSON.parse(text) }
}

/** The whole upload request for `parts`, as bytes for a raw socket. */
function rawUpload (cookie: string, parts: Part[], extra: Record<string, string | number> = {}) {
  const form = multipart(parts)
  const head = requestHead('POST', '/file/upload/', {
    cookie,
    'content-type': form.contentType,
    'content-length': form.body.length,
    ...extra
  })
  return { head, body: form.body }
}

async function failures (reason: string): Promise<number> {
  return metricValue(await ctx.app().tesseraMetrics.text(), 'tessera_upload_failures_total', { reason })
}

describe('POST /file/upload/ stores', () => {
  it('a 6 MiB PNG byte for byte, and answers with its URL', async () => {
    const { userId, cookie } = await ctx.signIn()
    const data = images.padded(images.png(), 6 * MiB)

    const response = await upload(cookie, [thumbnail(data, 'Holiday at the sea.png')])

    expect(response.status).toBe(200)
    const body = response.json()
    expect(body).toEqual({
      s3_url: `${ctx.s3().endpoint}/${ctx.s3().bucket}/${body.key}`,
      key: expect.stringMatching(new RegExp(`^${PREFIX}${userId}/[0-9A-HJKMNP-TV-Z]{26}_Holiday-at-the-sea\\.png$`)),
      size: 6 * MiB,
      content_type: 'image/png'
    })
    expect(Object.keys(body)).toEqual(['s3_url', 'key', 'size', 'content_type'])
    expect(sha256(await ctx.s3().readObject(body.key))).toBe(sha256(data))
    expect(await ctx.s3().listMultipartUploads()).toEqual([])
  })

  it('a file of exactly the limit, byte for byte', async () => {
    const { userId, cookie } = await ctx.signIn()
    const data = images.padded(images.jpeg(), MAX)

    const response = await upload(cookie, [thumbnail(data, 'limit.jpg', 'image/jpeg')])

    expect(response.status).toBe(200)
    expect(response.json()).toMatchObject({ size: MAX, content_type: 'image/jpeg' })
    const [key] = await ctx.s3().listObjects(`${PREFIX}${userId}/`)
    expect(key).toBe(response.json().key)
    expect(sha256(await ctx.s3().readObject(key!))).toBe(sha256(data))
  })

  it.each([
    ['GIF', images.gif(), 'image/gif', 'gif'],
    ['WebP', images.webp(), 'image/webp', 'webp'],
    ['AVIF', images.avif(), 'image/avif', 'avif']
  ])('a %s under its detected type', async (_, data, contentType, ext) => {
    const { cookie } = await ctx.signIn()

    const response = await upload(cookie, [thumbnail(data, 'picture.png', 'image/png')])

    expect(response.status).toBe(200)
    expect(response.json()).toMatchObject({
      key: expect.stringMatching(new RegExp(`_picture\\.${ext}$`)),
      size: data.length,
      content_type: contentType
    })
  })

  it('with the JSON headers on the reply and the image headers on the object', async () => {
    const { cookie } = await ctx.signIn()

    const response = await upload(cookie, [thumbnail(images.png(), 'Café au lait.png')])

    expect(response.status).toBe(200)
    expect(response.headers['content-type']).toBe('application/json; charset=utf-8')
    expect(response.headers['x-request-id']).toEqual(expect.any(String))
    expect(response.headers['set-cookie']).toBeUndefined()

    const key: string = response.json().key
    expect(key).toMatch(/_Café-au-lait\.png$/)
    const object = await ctx.s3().client.send(new HeadObjectCommand({ Bucket: ctx.s3().bucket, Key: key }))
    expect(object.ContentType).toBe('image/png')
    expect(object.CacheControl).toBe('public, max-age=31536000, immutable')
    expect(object.ContentDisposition)
      .toBe('inline; filename="Cafe-au-lait.png"; filename*=UTF-8\'\'Caf%C3%A9-au-lait.png')
    expect(object.ContentLength).toBe(images.png().length)
  })

  it('PNG bytes declared as text/plain, as a PNG', async () => {
    const { cookie } = await ctx.signIn()

    const response = await upload(cookie, [thumbnail(images.png(), 'notes.txt', 'text/plain')])

    expect(response.status).toBe(200)
    expect(response.json()).toMatchObject({ key: expect.stringMatching(/_notes\.png$/), content_type: 'image/png' })
  })

  it('a thumbnail part without a file name, and ignores small extra fields', async () => {
    const { cookie } = await ctx.signIn()

    const response = await upload(cookie, [
      { name: 'note', value: 'hello' },
      { name: 'thumbnail', contentType: 'image/png', data: images.png() }
    ])

    expect(response.status).toBe(200)
    expect(response.json()).toMatchObject({ key: expect.stringMatching(/_file\.png$/), size: images.png().length })
  })

  it.each([
    ['../../etc/passwd.png', 'passwd'],
    ['..\\..\\windows\\win.ini', 'win'],
    ['/absolute/path/x.png', 'x'],
    ['a%2F..%2Fb.png', 'a-2F-2Fb'],
    ['<script>alert(1)</script>.png', 'script'],
    // The quote ends the header parameter early: the name is empty.
    ['"; x=y.png', 'file'],
    ['', 'file']
  ])('a hostile file name %j inside the user\'s prefix', async (fileName, clean) => {
    const { userId, cookie } = await ctx.signIn()

    const response = await upload(cookie, [thumbnail(images.png(), fileName)])

    expect(response.status).toBe(200)
    const key: string = response.json().key
    expect(key).toMatch(new RegExp(`^${PREFIX}${userId}/[0-9A-HJKMNP-TV-Z]{26}_${clean}\\.png$`))
    expect(await ctx.s3().listObjects(`${PREFIX}${userId}/`)).toEqual([key])
  })
})

describe('POST /file/upload/ refuses', () => {
  it('a file one byte over the limit, storing nothing, and the connection serves the next request', async () => {
    const { userId, cookie } = await ctx.signIn()
    const connection = await RawConnection.open(ctx.url())
    const over = rawUpload(cookie, [thumbnail(images.padded(images.png(), MAX + 1))])

    await connection.write(over.head)
    await connection.write(over.body)
    const refused = await connection.response()

    expect(refused.status).toBe(413)
    expect(refused.json()).toEqual({ error: `the file must not be larger than ${MAX} bytes`, code: 'MEDIA_TOO_LARGE' })
    expect(refused.headers.connection).not.toBe('close')
    await eventually(() => expectNothingStored(ctx.s3(), userId))

    const next = rawUpload(cookie, [thumbnail(images.png())])
    await connection.write(Buffer.concat([Buffer.from(next.head), next.body]))
    const accepted = await connection.response()

    expect(accepted.status).toBe(200)
    expect(accepted.json().key).toMatch(new RegExp(`^${PREFIX}${userId}/${KEY_FILE}$`))
    connection.destroy()
  })

  it('a body declared far over the limit before reading it, and closes the connection', async () => {
    const { userId, cookie } = await ctx.signIn()
    const connection = await RawConnection.open(ctx.url())
    const before = await failures('too_large')

    await connection.write(requestHead('POST', '/file/upload/', {
      cookie,
      'content-type': 'multipart/form-data; boundary=x',
      'content-length': 100 * MiB
    }))
    const refused = await connection.response()

    expect(refused.status).toBe(413)
    expect(refused.json().code).toBe('MEDIA_TOO_LARGE')
    expect(refused.headers.connection).toBe('close')
    await connection.closed
    expect(await failures('too_large')).toBe(before + 1)
    await expectNothingStored(ctx.s3(), userId)
  })

  it.each([
    ['SVG', images.SVG, 'image/svg+xml', 'a.svg'],
    ['SVG declared as PNG', images.SVG, 'image/png', 'a.png'],
    ['SVG with an XML declaration', images.SVG_WITH_XML_DECLARATION, 'image/png', 'a.png'],
    ['HTML', images.HTML, 'image/png', 'a.png'],
    ['a bare PNG signature', images.PNG_SIGNATURE, 'image/png', 'a.png'],
    ['PDF', images.PDF, 'image/jpeg', 'a.jpg']
  ])('%s as an unsupported type, storing nothing', async (_, data, contentType, fileName) => {
    const { userId, cookie } = await ctx.signIn()

    const response = await upload(cookie, [thumbnail(data, fileName, contentType)])

    expect(response.status).toBe(415)
    expect(response.json()).toEqual({
      error: 'the file must be a PNG, JPEG, WebP, GIF or AVIF image',
      code: 'MEDIA_UNSUPPORTED_TYPE'
    })
    await expectNothingStored(ctx.s3(), userId)
  })

  it('an empty file', async () => {
    const { userId, cookie } = await ctx.signIn()

    const response = await upload(cookie, [thumbnail(Buffer.alloc(0))])

    expect(response.status).toBe(400)
    expect(response.json()).toEqual({ error: 'the uploaded file is empty', code: 'MEDIA_EMPTY_FILE' })
    await expectNothingStored(ctx.s3(), userId)
  })

  it('a body without a thumbnail part', async () => {
    const { cookie } = await ctx.signIn()

    const response = await upload(cookie, [{ name: 'note', value: 'hello' }])

    expect(response.status).toBe(400)
    expect(response.json()).toEqual({
      error: 'the request must carry a file part named "thumbnail"',
      code: 'MEDIA_MISSING_FILE'
    })
  })

  it('a file under another field name', async () => {
    const { userId, cookie } = await ctx.signIn()

    const response = await upload(cookie, [{ name: 'avatar', filename: 'a.png', data: images.png() }])

    expect(response.status).toBe(400)
    expect(response.json().code).toBe('MEDIA_MISSING_FILE')
    await expectNothingStored(ctx.s3(), userId)
  })

  it('a second file part, removing the first file again', async () => {
    const { userId, cookie } = await ctx.signIn()

    const response = await upload(cookie, [thumbnail(images.png()), thumbnail(images.gif(), 'b.gif')])

    expect(response.status).toBe(400)
    expect(response.json()).toEqual({
      error: 'the request must carry exactly one file part',
      code: 'MEDIA_TOO_MANY_FILES'
    })
    await eventually(() => expectNothingStored(ctx.s3(), userId))
  })

  it('a second file part under another name', async () => {
    const { userId, cookie } = await ctx.signIn()

    const response = await upload(cookie, [thumbnail(images.png()), { name: 'x', filename: 'x.png', data: images.png() }])

    expect(response.status).toBe(400)
    expect(response.json().code).toBe('MEDIA_TOO_MANY_FILES')
    await eventually(() => expectNothingStored(ctx.s3(), userId))
  })

  it.each([
    ['JSON', 'application/json', '{"thumbnail":"x"}'],
    ['urlencoded', 'application/x-www-form-urlencoded', 'thumbnail=x'],
    ['plain text', 'text/plain', 'hello'],
    ['an image body', 'image/png', images.png()],
    ['multipart/mixed', 'multipart/mixed; boundary=x', '--x--']
  ])('a %s body as not multipart', async (_, contentType, body) => {
    const { cookie } = await ctx.signIn()

    const response = await request(`${ctx.url()}/file/upload/`, {
      method: 'POST',
      headers: { cookie, 'content-type': contentType },
      body
    })

    expect(response.statusCode).toBe(415)
    expect(await response.body.json()).toEqual({
      error: 'the request must be multipart/form-data',
      code: 'MEDIA_NOT_MULTIPART'
    })
  })

  it('a request without a body as not multipart', async () => {
    const { cookie } = await ctx.signIn()

    const response = await request(`${ctx.url()}/file/upload/`, { method: 'POST', headers: { cookie } })

    expect(response.statusCode).toBe(415)
    expect((await response.body.json() as { code: string }).code).toBe('MEDIA_NOT_MULTIPART')
  })

  it('anyone without a session, before reading the body', async () => {
    const response = await upload(undefined, [thumbnail(images.png())])

    expect(response.status).toBe(401)
    expect(response.json()).toEqual({
      error: 'you must be authenticated to access this resource',
      code: 'SESSION_REQUIRED'
    })
  })

  it('anyone without a session, closing the connection rather than reading a large body', async () => {
    const connection = await RawConnection.open(ctx.url())
    const { head, body } = rawUpload('sessionid=none', [thumbnail(images.padded(images.png(), 3 * MiB))])

    await connection.write(head)
    await connection.write(body.subarray(0, 1000))
    const refused = await connection.response()

    expect(refused.status).toBe(401)
    expect(refused.headers.connection).toBe('close')
    await connection.closed
  })

  it('anyone without a session, keeping the connection after a small body', async () => {
    const { cookie } = await ctx.signIn()
    const connection = await RawConnection.open(ctx.url())
    const anonymous = rawUpload('sessionid=none', [thumbnail(images.png())])
    const signedIn = rawUpload(cookie, [thumbnail(images.png())])

    await connection.write(Buffer.concat([Buffer.from(anonymous.head), anonymous.body]))
    const refused = await connection.response()
    await connection.write(Buffer.concat([Buffer.from(signedIn.head), signedIn.body]))
    const accepted = await connection.response()

    expect([refused.status, accepted.status]).toEqual([401, 200])
    connection.destroy()
  })

  it('an unknown session', async () => {
    const response = await upload(`sessionid=${'a'.repeat(43)}`, [thumbnail(images.png())])

    expect(response.status).toBe(401)
    expect(response.json().code).toBe('SESSION_REQUIRED')
  })
})

describe('POST /file/upload/ leaves nothing behind when the client goes away', () => {
  async function abortAfter (bytes: number, waitFor?: () => Promise<void>) {
    const { userId, cookie } = await ctx.signIn()
    const before = await failures('upload_aborted')
    const connection = await RawConnection.open(ctx.url())
    const { head, body } = rawUpload(cookie, [thumbnail(images.padded(images.png(), 6 * MiB))])

    await connection.write(head)
    await connection.write(body.subarray(0, bytes))
    await waitFor?.()
    connection.destroy()

    await eventually(async () => {
      await expectNothingStored(ctx.s3(), userId)
      expect(await failures('upload_aborted')).toBe(before + 1)
    })
    expect(ctx.app().mediaUploads.size).toBe(0)
  }

  it('half way through the first part', async () => {
    await abortAfter(3 * MiB)
  })

  it('after the first part reached S3', async () => {
    await abortAfter(5.5 * MiB, () => eventually(async () => {
      expect(await ctx.s3().listMultipartUploads()).toHaveLength(1)
    }))
  })

  it('after its file was stored, before the rest of the body arrived', async () => {
    const { userId, cookie } = await ctx.signIn()
    const connection = await RawConnection.open(ctx.url())
    const { head, body } = rawUpload(cookie, [thumbnail(images.png()), { name: 'note', value: 'x'.repeat(1000) }])

    await connection.write(head)
    await connection.write(body.subarray(0, body.length - 500))
    await eventually(async () => {
      expect(await ctx.s3().listObjects(`${PREFIX}${userId}/`)).toHaveLength(1)
    })
    connection.destroy()

    await eventually(() => expectNothingStored(ctx.s3(), userId))
  })
})
