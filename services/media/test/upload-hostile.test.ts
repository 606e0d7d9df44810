import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { eventually, expectNothingStored, MiB, PREFIX, useMediaApp, type SignedIn } from './helpers.js'
import { multipart, RawConnection, requestHead, thumbnail, type RawResponse } from './http.js'
import * as images from './storage/fixtures/images.js'

const ctx = useMediaApp()

/**
 * Sends one upload request of `body` under `contentType` on a fresh connection and returns the
 * answer; then checks that the same connection still serves a good upload, unless told not to.
 */
async function send (user: SignedIn, contentType: string, body: Buffer, options: { reuse?: boolean } = {}) {
  const connection = await RawConnection.open(ctx.url())
  const head = requestHead('POST', '/file/upload/', {
    cookie: user.cookie,
    'content-type': contentType,
    'content-length': body.length
  })

  await connection.write(Buffer.concat([Buffer.from(head), body]))
  const response = await connection.response()

  if (options.reuse !== false) {
    const good = multipart([thumbnail(images.png())])
    await connection.write(Buffer.concat([Buffer.from(requestHead('POST', '/file/upload/', {
      cookie: user.cookie,
      'content-type': good.contentType,
      'content-length': good.body.length
    })), good.body]))
    const next = await connection.response()
    expect(next.status).toBe(200)

    await ctx.app().inject({
      method: 'DELETE',
      url: '/file/delete/',
      headers: { cookie: user.cookie },
      query: { thumbnail_url: next.json().s3_url }
    })
  }

  connection.destroy()
  return response
}

function expectError (response: RawResponse, status: number, code: string) {
  expect({ status: response.status, code: response.json().code }).toEqual({ status, code })
  expect(response.headers['content-type']).toBe('application/json; charset=utf-8')
}

/** A hand-written body: `{B}` is the boundary, `\n` a CRLF, `{PNG}` a whole PNG. */
function form (boundary: string, text: string): Buffer {
  const latin1 = text.replaceAll('\n', '\r\n').replaceAll('{B}', boundary)
    .replaceAll('{PNG}', images.png().toString('latin1'))
  return Buffer.from(latin1, 'latin1')
}

describe('POST /file/upload/ answers a hostile body quickly, and the connection stays usable', () => {
  it('multipart without a boundary', async () => {
    const user = await ctx.signIn()
    const { body } = multipart([thumbnail(images.png())])

    const response = await send(user, 'multipart/form-data', body)

    expectError(response, 400, 'MEDIA_BAD_MULTIPART')
    expect(response.json().error).toBe('the multipart body is malformed')
  })

  it('a body that uses another boundary than its header', async () => {
    const user = await ctx.signIn()
    const { body } = multipart([thumbnail(images.png())], 'one')

    const response = await send(user, 'multipart/form-data; boundary=other', body)

    expectError(response, 400, 'MEDIA_BAD_MULTIPART')
    await expectNothingStored(ctx.s3(), user.userId)
  })

  it('a quoted boundary, which is valid', async () => {
    const user = await ctx.signIn()
    const { body } = multipart([thumbnail(images.png())], 'quoted boundary')

    const response = await send(user, 'multipart/form-data; boundary="quoted boundary"', body)

    expect(response.status).toBe(200)
    expect(response.json().size).toBe(images.png().length)
  })

  it('a boundary with an unterminated quote, read leniently', async () => {
    const user = await ctx.signIn()
    const { body } = multipart([thumbnail(images.png())], 'abc')

    const response = await send(user, 'multipart/form-data; boundary="abc', body)

    expect(response.status).toBe(200)
  })

  it('an empty boundary', async () => {
    const user = await ctx.signIn()
    const { body } = multipart([thumbnail(images.png())], 'abc')

    const response = await send(user, 'multipart/form-data; boundary=', body)

    expectError(response, 400, 'MEDIA_BAD_MULTIPART')
  })

  it('a boundary of 10 000 characters (RFC 2046 allows 70)', async () => {
    const user = await ctx.signIn()
    const boundary = 'b'.repeat(10_000)
    const { body } = multipart([thumbnail(images.png())], boundary)

    const response = await send(user, `multipart/form-data; boundary=${boundary}`, body)

    expectError(response, 400, 'MEDIA_BAD_MULTIPART')
  })

  it('random bytes', async () => {
    const user = await ctx.signIn()

    const response = await send(user, 'multipart/form-data; boundary=x', randomBytes(64 * 1024))

    expectError(response, 400, 'MEDIA_BAD_MULTIPART')
  })

  it('an empty body', async () => {
    const user = await ctx.signIn()

    const response = await send(user, 'multipart/form-data; boundary=x', Buffer.alloc(0))

    expectError(response, 400, 'MEDIA_MISSING_FILE')
  })

  it('a body that breaks off inside the file', async () => {
    const user = await ctx.signIn()
    const { body, contentType } = multipart([thumbnail(images.padded(images.png(), MiB))])

    const response = await send(user, contentType, body.subarray(0, body.length - 1000))

    expectError(response, 400, 'MEDIA_UPLOAD_ABORTED')
    await eventually(() => expectNothingStored(ctx.s3(), user.userId))
  })

  it('a body that breaks off after the file, removing it again', async () => {
    const user = await ctx.signIn()
    const { body, contentType } = multipart([thumbnail(images.png())])
    // Ends with the delimiter that closes the file, but never says whether another part follows.
    const cut = body.subarray(0, body.length - '--\r\n'.length)

    const response = await send(user, contentType, cut)

    expectError(response, 400, 'MEDIA_BAD_MULTIPART')
    await eventually(() => expectNothingStored(ctx.s3(), user.userId))
  })

  it('a part header far larger than any real one', async () => {
    const user = await ctx.signIn()
    const body = form('b1', '--{B}\nContent-Disposition: form-data; name="thumbnail"; filename="a.png"\n' +
      `X-Padding: ${'p'.repeat(200 * 1024)}\nContent-Type: image/png\n\n{PNG}\n--{B}--\n`)

    const response = await send(user, 'multipart/form-data; boundary=b1', body)

    // Busboy keeps the first 16 KiB of a part header and skips the rest: the file still arrives.
    expect(response.status).toBe(200)
  })

  it('a part header line with no end', async () => {
    const user = await ctx.signIn()
    const body = form('b2', `--{B}\nContent-Disposition: form-data; name="thumbnail"${'x'.repeat(MiB)}`)

    const response = await send(user, 'multipart/form-data; boundary=b2', body)

    expectError(response, 400, 'MEDIA_BAD_MULTIPART')
  })

  it('thousands of fields', async () => {
    const user = await ctx.signIn()
    const fields = Array.from({ length: 5000 }, (_, i) => ({ name: `f${i}`, value: 'v' }))
    const { body, contentType } = multipart([...fields, thumbnail(images.png())])

    const response = await send(user, contentType, body)

    expectError(response, 400, 'MEDIA_TOO_MANY_PARTS')
    expect(response.json().error).toBe('the multipart body has too many parts')
    await expectNothingStored(ctx.s3(), user.userId)
  })

  it('many empty parts', async () => {
    const user = await ctx.signIn()
    const parts = '--{B}\nContent-Disposition: form-data; name="x"\n\n\n'.repeat(3000)

    const response = await send(user, 'multipart/form-data; boundary=b3', form('b3', `${parts}--{B}--\n`))

    expectError(response, 400, 'MEDIA_TOO_MANY_PARTS')
  })

  it('a field over the field size', async () => {
    const user = await ctx.signIn()
    const { body, contentType } = multipart([{ name: 'note', value: 'n'.repeat(64 * 1024) }, thumbnail(images.png())])

    const response = await send(user, contentType, body)

    // Cut to 1 KiB and otherwise ignored, like any extra field.
    expect(response.status).toBe(200)
  })

  it('a field named __proto__', async () => {
    const user = await ctx.signIn()
    const { body, contentType } = multipart([{ name: '__proto__', value: 'x' }, thumbnail(images.png())])

    const response = await send(user, contentType, body)

    expectError(response, 400, 'MEDIA_BAD_MULTIPART')
  })

  it('a JSON field that is not JSON', async () => {
    const user = await ctx.signIn()
    const body = form('b4', '--{B}\nContent-Disposition: form-data; name="meta"\nContent-Type: application/json\n\n{x\n' +
      '--{B}\nContent-Disposition: form-data; name="thumbnail"; filename="a.png"\n\n{PNG}\n--{B}--\n')

    const response = await send(user, 'multipart/form-data; boundary=b4', body)

    expectError(response, 400, 'MEDIA_BAD_MULTIPART')
    await eventually(() => expectNothingStored(ctx.s3(), user.userId))
  })

  it('an unsupported file with a large rest of body behind it', async () => {
    const user = await ctx.signIn()
    const { body, contentType } = multipart([
      thumbnail(Buffer.concat([images.SVG, Buffer.alloc(3 * MiB, 0x20)])),
      { name: 'after', value: 'x' }
    ])

    const response = await send(user, contentType, body)

    expectError(response, 415, 'MEDIA_UNSUPPORTED_TYPE')
    expect(await ctx.s3().listObjects(`${PREFIX}${user.userId}/`)).toEqual([])
  })

  it('a file under another name with a large rest of body behind it', async () => {
    const user = await ctx.signIn()
    const { body, contentType } = multipart([
      { name: 'avatar', filename: 'a.png', data: images.padded(images.png(), 2 * MiB) },
      thumbnail(images.png())
    ])

    const response = await send(user, contentType, body)

    expectError(response, 400, 'MEDIA_MISSING_FILE')
  })

  it('a Content-Length longer than the body, when the client then gives up', async () => {
    const user = await ctx.signIn()
    const { body, contentType } = multipart([thumbnail(images.png())])
    const connection = await RawConnection.open(ctx.url())

    await connection.write(requestHead('POST', '/file/upload/', {
      cookie: user.cookie,
      'content-type': contentType,
      'content-length': body.length + 100
    }))
    await connection.write(body)
    // The file is stored, but the upload counts only once the body is over, which it never is.
    await eventually(async () => {
      expect(await ctx.s3().listObjects(`${PREFIX}${user.userId}/`)).toHaveLength(1)
    })
    connection.destroy()

    await eventually(() => expectNothingStored(ctx.s3(), user.userId))
  })
})
