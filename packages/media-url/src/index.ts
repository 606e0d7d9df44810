/**
 * The public URL of a stored media object and its strict inverse. The media service issues these
 * URLs and deletes by them; the profile service accepts only them as a thumbnail.
 *
 * A key is `<keyPrefix><userId>/<id>_<name>.<ext>`: userId a lowercase UUID, id 26 Crockford
 * base32 characters, name 1–64 letters, digits, marks, `-` or `_` (NFC), ext one of
 * {@link MEDIA_EXTENSIONS}.
 */

/** Defaults shared by media and profile, so the two agree when neither is configured. */
export const DEFAULT_PUBLIC_URL = 'http://127.0.0.1:9000/tessera'
export const DEFAULT_KEY_PREFIX = 'thumbnails/'

export const MEDIA_EXTENSIONS = ['png', 'jpg', 'webp', 'gif', 'avif'] as const
export type MediaExtension = typeof MEDIA_EXTENSIONS[number]

/** The longest clean file name, in code points. */
export const MAX_NAME_CODE_POINTS = 64
/** The longest clean file name, in UTF-8 bytes. */
export const MAX_NAME_BYTES = 128
/** The longest key prefix, in bytes; keeps whole keys far below S3's 1024-byte limit. */
export const MAX_KEY_PREFIX_BYTES = 256

export interface PublicUrlOptions {
  /**
   * Where the bucket is served, path-style (`http://127.0.0.1:9000/bucket`) or virtual-host
   * style (`https://bucket.s3.eu-west-1.amazonaws.com`).
   */
  publicUrl: string
}

export interface ParseOptions extends PublicUrlOptions {
  /** `S3_KEY_PREFIX`: empty, or segments of `A-Z a-z 0-9 . _ -` each followed by `/`. */
  keyPrefix: string
}

export interface ParsedObjectKey {
  key: string
  userId: string
  /** The 26-character object id. */
  id: string
  /** `<clean name>.<ext>` */
  fileName: string
}

export { isIssuedObjectId, issueObjectId, newObjectId } from './object-id.js'

export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
export const OBJECT_ID_PATTERN = /^[0-9A-HJKMNP-TV-Z]{26}$/
export const CLEAN_NAME_PATTERN = /^[\p{L}\p{N}\p{M}_-]+$/u

const PREFIX_SEGMENT = /^[A-Za-z0-9._-]+$/
const FILE_PART = /^([0-9A-HJKMNP-TV-Z]{26})_([\p{L}\p{N}\p{M}_-]+)\.([a-z]+)$/u
// Exactly what encodeSegment produces: unreserved characters and upper-case escapes.
const ENCODED_SEGMENT = /^(?:[A-Za-z0-9\-._~]|%[0-9A-F]{2})+$/

/** Throws unless `keyPrefix` is a valid `S3_KEY_PREFIX`; call it when reading config. */
export function assertKeyPrefix (keyPrefix: string): void {
  if (keyPrefix === '') return

  const segments = keyPrefix.split('/')
  const last = segments.pop()
  const valid = last === '' &&
    Buffer.byteLength(keyPrefix) <= MAX_KEY_PREFIX_BYTES &&
    segments.every((segment) => PREFIX_SEGMENT.test(segment) && !/^\.+$/.test(segment))

  if (!valid) {
    throw new TypeError(`key prefix ${JSON.stringify(keyPrefix)} must be empty or end with "/" ` +
      'and hold only segments of letters, digits, ".", "_" and "-"')
  }
}

/** `true` when `name` is a clean file name as object keys carry it. */
export function isCleanName (name: string): boolean {
  return CLEAN_NAME_PATTERN.test(name) &&
    [...name].length <= MAX_NAME_CODE_POINTS &&
    Buffer.byteLength(name) <= MAX_NAME_BYTES &&
    name === name.normalize('NFC')
}

/**
 * Splits a key of the shape above into its parts, or returns null. The prefix must be exactly
 * `keyPrefix`.
 */
export function parseObjectKey (key: string, options: { keyPrefix: string }): ParsedObjectKey | null {
  const { keyPrefix } = options
  assertKeyPrefix(keyPrefix)
  if (typeof key !== 'string' || !key.startsWith(keyPrefix)) return null

  const rest = key.slice(keyPrefix.length).split('/')
  if (rest.length !== 2) return null

  const [userId = '', file = ''] = rest
  const match = FILE_PART.exec(file)
  if (!UUID_PATTERN.test(userId) || match === null) return null

  const [, id = '', name = '', ext = ''] = match
  if (!isCleanName(name) || !(MEDIA_EXTENSIONS as readonly string[]).includes(ext)) return null

  return { key, userId, id, fileName: `${name}.${ext}` }
}

interface PublicBase {
  protocol: string
  host: string
  /** The public URL's path without its trailing slash: '' or '/bucket'. */
  path: string
}

function publicBase (publicUrl: string): PublicBase {
  let url: URL
  try {
    url = new URL(publicUrl)
  } catch {
    throw new TypeError(`public URL ${JSON.stringify(publicUrl)} is not a URL`)
  }

  const plain = url.username === '' && url.password === '' && url.search === '' && url.hash === '' &&
    !publicUrl.includes('?') && !publicUrl.includes('#')
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || !plain) {
    throw new TypeError(`public URL ${JSON.stringify(publicUrl)} must be http(s) with no credentials, ` +
      'query or fragment')
  }

  return { protocol: url.protocol, host: url.host, path: url.pathname.replace(/\/+$/, '') }
}

function encodeSegment (segment: string): string {
  // encodeURIComponent leaves !'()* alone; escape them so every URL has one spelling.
  return encodeURIComponent(segment)
    .replace(/[!'()*]/g, (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`)
}

/** `<publicUrl>/<key>`, each key segment percent-encoded (UTF-8, upper-case hex). */
export function objectUrl (key: string, options: PublicUrlOptions): string {
  const base = publicBase(options.publicUrl)
  const path = key.split('/').map(encodeSegment).join('/')

  return `${base.protocol}//${base.host}${base.path}/${path}`
}

/**
 * The key and owner of a URL that {@link objectUrl} issued under these options, or null for any
 * other string. The URL must be spelled exactly as issued: same scheme, host and port, no
 * credentials, query or fragment, no dot segments, no alternative percent-encoding, and the key
 * must have the media key shape under `keyPrefix`.
 */
export function parseObjectUrl (url: string, options: ParseOptions): ParsedObjectKey | null {
  const base = publicBase(options.publicUrl)
  if (typeof url !== 'string') return null

  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return null
  }

  // The WHATWG parser quietly repairs many tricks (dot segments, backslashes, tabs, case, default
  // ports); insisting that nothing needed repair rejects all of them at once.
  if (parsed.href !== url || url.includes('?') || url.includes('#')) return null
  if (parsed.protocol !== base.protocol || parsed.host !== base.host) return null
  if (parsed.username !== '' || parsed.password !== '') return null
  if (!parsed.pathname.startsWith(base.path + '/')) return null

  const segments = parsed.pathname.slice(base.path.length + 1).split('/')
  if (!segments.every((segment) => ENCODED_SEGMENT.test(segment))) return null

  let key: string
  try {
    key = segments.map((segment) => {
      const decoded = decodeURIComponent(segment)
      if (/[/\\%]/.test(decoded)) throw new URIError('encoded separator or escape')
      return decoded
    }).join('/')
  } catch {
    return null
  }

  if (objectUrl(key, options) !== url) return null

  return parseObjectKey(key, options)
}
