import { randomBytes } from 'node:crypto'

/** The smallest valid PNG: one transparent pixel. */
export const PNG = Buffer.from(
  '89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489' +
  '0000000d4944415478da63f8cfc0f01f0005000201ffa1b6a0f00000000049454e44ae426082', 'hex')

/** A PNG of exactly `size` bytes: the pixel, then filler the decoders ignore. */
export function pngOfSize (size: number): Buffer {
  if (size < PNG.length) throw new RangeError(`a PNG has at least ${PNG.length} bytes`)
  return Buffer.concat([PNG, Buffer.alloc(size - PNG.length, 0x2e)])
}

export interface Form {
  body: Buffer
  contentType: string
  boundary: string
}

export interface FormPart {
  name: string
  filename?: string
  contentType?: string
  data: Buffer | string
}

/** A multipart/form-data body of `parts`. */
export function multipartForm (parts: FormPart[], boundary = `reliability-${randomBytes(8).toString('hex')}`): Form {
  const chunks: Buffer[] = []
  for (const part of parts) {
    let head = `--${boundary}\r\nContent-Disposition: form-data; name="${part.name}"`
    if (part.filename !== undefined) head += `; filename="${part.filename}"`
    head += '\r\n'
    if (part.contentType !== undefined) head += `Content-Type: ${part.contentType}\r\n`
    chunks.push(Buffer.from(head + '\r\n'), Buffer.from(part.data), Buffer.from('\r\n'))
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`))
  return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}`, boundary }
}

/** The upload form of the contract: one file part `thumbnail`. */
export function thumbnailForm (data: Buffer = PNG, filename = 'me.png'): Form {
  return multipartForm([{ name: 'thumbnail', filename, contentType: 'image/png', data }])
}
