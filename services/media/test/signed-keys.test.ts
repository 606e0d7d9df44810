import { isIssuedObjectId, parseObjectUrl } from '@tessera/media-url'
import { request } from 'undici'
import { expect, it } from 'vitest'
import { PREFIX, useMediaApp } from './helpers.js'
import { multipart, thumbnail } from './http.js'
import * as images from './storage/fixtures/images.js'

const SECRET = 'shared-media-url-secret-0123456789abcdef'
const ctx = useMediaApp({ env: { MEDIA_URL_SECRET: SECRET } })

it('signs the object id of an upload with MEDIA_URL_SECRET, so profile can accept the URL', async () => {
  const { userId, cookie } = await ctx.signIn()
  const form = multipart([thumbnail(images.png(), 'Holiday.png', 'image/png')])
  const response = await request(`${ctx.url()}/file/upload/`, {
    method: 'POST', headers: { cookie, 'content-type': form.contentType }, body: form.body
  })
  expect(response.statusCode).toBe(200)
  const { s3_url: url } = await response.body.json() as { s3_url: string }

  const publicUrl = `${ctx.s3().endpoint}/${ctx.s3().bucket}`
  const parsed = parseObjectUrl(url, { publicUrl, keyPrefix: PREFIX })
  expect(parsed).toMatchObject({ userId, fileName: 'Holiday.png' })
  expect(isIssuedObjectId(SECRET, userId, parsed!.id, parsed!.fileName)).toBe(true)
})
