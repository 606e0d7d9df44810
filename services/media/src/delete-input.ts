import type { FastifyRequest } from 'fastify'
import { HttpErrors } from '@tessera/http'
import { MediaErrors } from './errors.js'
import { discardRest, multipartParts, URL_FIELD } from './multipart.js'

const never = new AbortController().signal

async function multipartUrls (request: FastifyRequest): Promise<string[]> {
  const nextPart = multipartParts(request, never, 0)
  const urls: string[] = []

  try {
    for (let part = await nextPart(); part !== undefined; part = await nextPart()) {
      if (part.fieldname !== URL_FIELD) throw new HttpErrors.UnknownKey(part.fieldname.slice(0, 100))
      if (part.type === 'field') urls.push(String(part.value))
    }
  } catch (error) {
    discardRest(request)
    if (error instanceof MediaErrors.tooManyFiles) {
      throw new HttpErrors.BadRequest('the request must not carry a file part')
    }
    throw error
  }

  return urls
}

/**
 * `thumbnail_url` from wherever the client put it: the query string, a JSON or urlencoded body
 * (both already checked by the route schema), or a multipart field. Exactly one of them.
 */
export async function thumbnailUrlOf (request: FastifyRequest): Promise<string> {
  const query = request.query as { thumbnail_url?: string }
  const urls = query.thumbnail_url === undefined ? [] : [query.thumbnail_url]

  if (request.isMultipart()) {
    urls.push(...await multipartUrls(request))
  } else {
    const body = request.body as { thumbnail_url?: string } | undefined
    if (body?.thumbnail_url !== undefined) urls.push(body.thumbnail_url)
  }

  if (urls.length > 1) throw new HttpErrors.BadRequest(`${URL_FIELD} must be given only once`)
  const [url] = urls
  if (url === undefined || url === '') throw MediaErrors.missingUrl()

  return url
}
