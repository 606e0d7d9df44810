import {
  assertKeyPrefix,
  isCleanName,
  issueObjectId,
  MAX_NAME_BYTES,
  MAX_NAME_CODE_POINTS,
  newObjectId,
  UUID_PATTERN,
  type MediaExtension
} from '@tessera/media-url'

/** Objects never change under a key: a new upload always gets a new key. */
export const CACHE_CONTROL = 'public, max-age=31536000, immutable'

export const FALLBACK_NAME = 'file'

export { newObjectId }

const graphemes = new Intl.Segmenter('und', { granularity: 'grapheme' })

function cut (name: string): string {
  let kept = ''
  let codePoints = 0

  for (const { segment } of graphemes.segment(name)) {
    const length = [...segment].length
    if (codePoints + length > MAX_NAME_CODE_POINTS ||
      Buffer.byteLength(kept + segment) > MAX_NAME_BYTES) break

    kept += segment
    codePoints += length
  }

  return kept
}

/**
 * The part of a client's file name that goes into a key: the last path segment, without its
 * extension, NFC, with every run of anything but letters, digits, combining marks, `-` and `_`
 * turned into one `-`, cut at a grapheme boundary to 64 code points and 128 bytes. Path
 * separators, dots, quotes, controls and bidi overrides never survive. Empty → `file`.
 */
export function cleanFileName (fileName: string | undefined): string {
  const base = (fileName ?? '').split(/[/\\]/).pop() ?? ''
  const stem = base.replace(/(?<=.)\.[\p{L}\p{N}]{1,10}$/u, '')

  const cleaned = stem.normalize('NFC')
    .replace(/[^\p{L}\p{N}\p{M}_-]+/gu, '-')
    .replace(/-{2,}/g, '-')
    .replace(/^[\p{M}_-]+|[_-]+$/gu, '')

  const name = cut(cleaned).replace(/[_-]+$/, '').normalize('NFC')
  return name !== '' && isCleanName(name) ? name : FALLBACK_NAME
}

export interface ObjectKeyInput {
  /** `S3_KEY_PREFIX`, checked by `assertKeyPrefix`. */
  keyPrefix: string
  /** The owner's id, a lowercase UUID. */
  userId: string
  /** What the client called the file; only its letters and digits are used. */
  fileName: string | undefined
  /** From the detected type, never from the client. */
  ext: MediaExtension
  /** Defaults to a fresh id: signed with `secret` when one is given, else a plain one. */
  id?: string
  /** `MEDIA_URL_SECRET`, shared with the profile service, which then accepts only issued keys. */
  secret?: string
}

export interface ObjectName {
  /** `<keyPrefix><userId>/<id>_<clean name>.<ext>` */
  key: string
  /** `<clean name>.<ext>`, for Content-Disposition. */
  fileName: string
}

export function objectKey (input: ObjectKeyInput): ObjectName {
  assertKeyPrefix(input.keyPrefix)
  if (!UUID_PATTERN.test(input.userId)) {
    throw new TypeError(`user id ${JSON.stringify(input.userId)} is not a lowercase UUID`)
  }

  const fileName = `${cleanFileName(input.fileName)}.${input.ext}`
  const id = input.id ??
    (input.secret === undefined ? newObjectId() : issueObjectId(input.secret, input.userId, fileName))
  const key = `${input.keyPrefix}${input.userId}/${id}_${fileName}`

  return { key, fileName }
}

function encodeExtValue (text: string): string {
  // RFC 8187 attr-char has no ' ( ) *, which encodeURIComponent leaves as they are.
  return encodeURIComponent(text).replace(/['()*]/g, (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`)
}

function asciiFallback (fileName: string): string {
  const dot = fileName.includes('.') ? fileName.lastIndexOf('.') : fileName.length
  const stem = fileName.slice(0, dot).normalize('NFD')
    .replace(/\p{M}+/gu, '')
    .replace(/[^A-Za-z0-9_-]+/g, '_')
    .replace(/^[_-]+|[_-]+$/g, '')

  const ext = fileName.slice(dot).replace(/[^A-Za-z0-9.]+/g, '')

  return `${/[A-Za-z0-9]/.test(stem) ? stem : FALLBACK_NAME}${ext}`
}

/**
 * `inline` with the name twice (RFC 6266 §4.3): an ASCII-only `filename` for old clients and the
 * exact name as RFC 8187 `filename*`. Takes a name made by {@link objectKey}.
 */
export function contentDisposition (fileName: string): string {
  return `inline; filename="${asciiFallback(fileName)}"; filename*=UTF-8''${encodeExtValue(fileName)}`
}
