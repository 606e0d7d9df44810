import { randomBytes } from 'node:crypto'

export interface FilePart {
  name: string
  /** Leave out for a part without a `filename` parameter. */
  filename?: string
  contentType?: string
  data: Buffer
}

export interface FieldPart {
  name: string
  value: string
}

export type Part = FilePart | FieldPart

function partHead (part: Part): string {
  const isFile = 'data' in part
  let disposition = `form-data; name="${part.name}"`
  if (isFile && part.filename !== undefined) disposition += `; filename="${part.filename}"`

  let head = `Content-Disposition: ${disposition}\r\n`
  if (isFile) head += `Content-Type: ${part.contentType ?? 'application/octet-stream'}\r\n`
  return head + '\r\n'
}

/** A multipart/form-data body of `parts` and its Content-Type. */
export function multipart (parts: Part[], boundary = `tessera-${randomBytes(8).toString('hex')}`) {
  const chunks: Buffer[] = []
  for (const part of parts) {
    chunks.push(Buffer.from(`--${boundary}\r\n${partHead(part)}`))
    chunks.push('data' in part ? part.data : Buffer.from(part.value))
    chunks.push(Buffer.from('\r\n'))
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`))

  return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}`, boundary }
}

/** A `thumbnail` file part. */
export function thumbnail (data: Buffer, filename = 'me.png', contentType = 'image/png'): FilePart {
  return { name: 'thumbnail', filename, contentType, data }
}

export { RawConnection, requestHead, type RawResponse } from '@tessera/testing'
