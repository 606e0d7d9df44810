import { describe, expect, it } from 'vitest'
import {
  assertKeyPrefix,
  isCleanName,
  objectUrl,
  parseObjectKey,
  parseObjectUrl
} from '../src/index.js'

const USER = '0f8fad5b-d9cb-469f-a165-70867728950e'
const OTHER_USER = '7c9e6679-7425-40de-944b-e07fc1f90ae7'
const ID = '01HZX3N5R8V7QK2M4T6W9Y0ABC'

const pathStyle = { publicUrl: 'http://127.0.0.1:9000/bucket', keyPrefix: 'thumbnails/' }
const vhost = { publicUrl: 'https://bucket.s3.eu-west-1.amazonaws.com', keyPrefix: '' }

const KEY = `thumbnails/${USER}/${ID}_photo.png`
const URL_PATH = `http://127.0.0.1:9000/bucket/thumbnails/${USER}/${ID}_photo.png`
const VHOST_KEY = `${USER}/${ID}_photo.png`
const VHOST_URL = `https://bucket.s3.eu-west-1.amazonaws.com/${USER}/${ID}_photo.png`

describe('objectUrl', () => {
  it('joins a path-style public URL and the key', () => {
    expect(objectUrl(KEY, pathStyle)).toBe(URL_PATH)
  })

  it('joins a virtual-host public URL and the key', () => {
    expect(objectUrl(VHOST_KEY, vhost)).toBe(VHOST_URL)
  })

  it('ignores trailing slashes of the public URL', () => {
    expect(objectUrl(KEY, { publicUrl: 'http://127.0.0.1:9000/bucket/' })).toBe(URL_PATH)
    expect(objectUrl(VHOST_KEY, { publicUrl: 'https://bucket.s3.eu-west-1.amazonaws.com/' })).toBe(VHOST_URL)
  })

  it('percent-encodes each segment as UTF-8 with upper-case hex and keeps the slashes', () => {
    const key = `${USER}/${ID}_写真-é_مرحبا.jpg`

    expect(objectUrl(key, vhost)).toBe(`https://bucket.s3.eu-west-1.amazonaws.com/${USER}/${ID}_` +
      '%E5%86%99%E7%9C%9F-%C3%A9_%D9%85%D8%B1%D8%AD%D8%A8%D8%A7.jpg')
  })

  it('escapes characters that encodeURIComponent leaves alone', () => {
    expect(objectUrl("a/b!'()*c", vhost)).toBe('https://bucket.s3.eu-west-1.amazonaws.com/a/b%21%27%28%29%2Ac')
  })

  it('writes the host as the URL parser does', () => {
    expect(objectUrl(VHOST_KEY, { publicUrl: 'HTTPS://Bucket.S3.eu-west-1.amazonaws.com:443' })).toBe(VHOST_URL)
  })

  it.each([
    'not a url',
    'ftp://bucket.example.com',
    'https://user:pw@bucket.example.com',
    'https://bucket.example.com/?x=1',
    'https://bucket.example.com/#top',
    'https://bucket.example.com/?'
  ])('refuses the public URL %j', (publicUrl) => {
    expect(() => objectUrl(KEY, { publicUrl })).toThrow(TypeError)
  })
})

describe('parseObjectUrl', () => {
  it('returns the key and owner of a URL it issued, path-style', () => {
    expect(parseObjectUrl(URL_PATH, pathStyle)).toMatchObject({ key: KEY, userId: USER })
  })

  it('returns the key and owner of a URL it issued, virtual-host style', () => {
    expect(parseObjectUrl(VHOST_URL, vhost)).toMatchObject({ key: VHOST_KEY, userId: USER })
  })

  it('inverts objectUrl for names in any script', () => {
    for (const name of ['写真', 'مرحبا', 'Привет-мир', 'नमस्ते', 'e\u0301'.normalize('NFC'), 'a_b-c', '١٢٣']) {
      const key = `thumbnails/${USER}/${ID}_${name}.webp`
      expect(parseObjectUrl(objectUrl(key, pathStyle), pathStyle)).toMatchObject({ key, userId: USER })
    }
  })

  it('accepts every image extension and nothing else', () => {
    for (const ext of ['png', 'jpg', 'webp', 'gif', 'avif']) {
      expect(parseObjectUrl(URL_PATH.replace('.png', `.${ext}`), pathStyle)?.key).toBe(KEY.replace('.png', `.${ext}`))
    }
    for (const ext of ['svg', 'html', 'jpeg', 'PNG', 'png.html', 'exe', '']) {
      expect(parseObjectUrl(URL_PATH.replace('.png', `.${ext}`), pathStyle)).toBeNull()
    }
    expect(parseObjectUrl(URL_PATH.replace('.png', ''), pathStyle)).toBeNull()
  })

  it('reports the owner so that another user\'s file can be told apart', () => {
    const url = URL_PATH.replace(USER, OTHER_USER)
    expect(parseObjectUrl(url, pathStyle)).toMatchObject({ key: KEY.replace(USER, OTHER_USER), userId: OTHER_USER })
  })

  const host = 'bucket.s3.eu-west-1.amazonaws.com'
  const path = `/${USER}/${ID}_photo.png`

  it.each([
    ['another host', `https://evil.example${path}`],
    ['a look-alike suffix', `https://${host}.evil.example${path}`],
    ['a look-alike prefix', `https://evil-${host}${path}`],
    ['the host as a path', `https://evil.example/${host}${path}`],
    ['a trailing dot', `https://${host}.${path}`],
    ['an upper-case host', `https://BUCKET.s3.eu-west-1.amazonaws.com${path}`],
    ['a Cyrillic homograph', `https://bucket.s3.eu-west-1.amаzonaws.com${path}`],
    ['userinfo that looks like the host', `https://${host}@evil.example${path}`],
    ['credentials', `https://user:pw@${host}${path}`],
    ['a user name', `https://user@${host}${path}`],
    ['an empty userinfo', `https://@${host}${path}`],
    ['a backslash before @', `https://evil.example\\@${host}${path}`],
    ['the default port written out', `https://${host}:443${path}`],
    ['another port', `https://${host}:8443${path}`],
    ['http instead of https', `http://${host}${path}`],
    ['an upper-case scheme', `HTTPS://${host}${path}`],
    ['a protocol-relative URL', `//${host}${path}`],
    ['a bare path', path],
    ['a javascript: URL', `javascript:alert(1)//${host}${path}`],
    ['a data: URL', 'data:image/png;base64,iVBORw0KGgo='],
    ['a query', `https://${host}${path}?x=1`],
    ['an empty query', `https://${host}${path}?`],
    ['a fragment', `https://${host}${path}#x`],
    ['an empty fragment', `https://${host}${path}#`],
    ['leading space', ` https://${host}${path}`],
    ['trailing newline', `https://${host}${path}\n`],
    ['a tab inside', `https://${host}/${USER}\t/${ID}_photo.png`],
    ['a trailing slash', `https://${host}${path}/`],
    ['a doubled slash', `https://${host}/${USER}//${ID}_photo.png`],
    ['a leading doubled slash', `https://${host}/${path}`],
    ['a dot-dot segment', `https://${host}/${OTHER_USER}/../${USER}/${ID}_photo.png`],
    ['an encoded dot-dot', `https://${host}/${OTHER_USER}/%2e%2e/${USER}/${ID}_photo.png`],
    ['an upper-case encoded dot-dot', `https://${host}/${OTHER_USER}/%2E%2E/${USER}/${ID}_photo.png`],
    ['a half-encoded dot-dot', `https://${host}/${OTHER_USER}/.%2E/${USER}/${ID}_photo.png`],
    ['a dot segment', `https://${host}/./${USER}/${ID}_photo.png`],
    ['an encoded slash', `https://${host}/${USER}%2F${ID}_photo.png`],
    ['a lower-case encoded slash', `https://${host}/${USER}%2f${ID}_photo.png`],
    ['an encoded backslash', `https://${host}/${USER}%5C${ID}_photo.png`],
    ['a raw backslash', `https://${host}/${USER}\\${ID}_photo.png`],
    ['a double-encoded slash', `https://${host}/${USER}%252F${ID}_photo.png`],
    ['a needlessly encoded letter', `https://${host}/${USER}/${ID}_phot%6F.png`],
    ['a needlessly encoded digit', `https://${host}/${USER.replace('0f', '%30f')}/${ID}_photo.png`],
    ['a needlessly encoded dot', `https://${host}/${USER}/${ID}_photo%2Epng`],
    ['lower-case hex', `https://${host}/${USER}/${ID}_%e5%86%99.png`],
    ['a raw non-ASCII name', `https://${host}/${USER}/${ID}_写真.png`],
    ['invalid UTF-8', `https://${host}/${USER}/${ID}_%FF%FE.png`],
    ['a broken escape', `https://${host}/${USER}/${ID}_%E5%86.png`],
    ['an encoded NUL', `https://${host}/${USER}/${ID}_a%00b.png`],
    ['an encoded quote', `https://${host}/${USER}/${ID}_a%22b.png`],
    ['an encoded RTL override', `https://${host}/${USER}/${ID}_a%E2%80%AEgnp.png`],
    ['a dot in the name', `https://${host}/${USER}/${ID}_a.b.png`],
    ['an extra segment', `https://${host}/${USER}/x/${ID}_photo.png`],
    ['no user segment', `https://${host}/${ID}_photo.png`],
    ['an upper-case user id', `https://${host}/${USER.toUpperCase()}/${ID}_photo.png`],
    ['a user id that is not a UUID', `https://${host}/admin/${ID}_photo.png`],
    ['a short object id', `https://${host}/${USER}/${ID.slice(1)}_photo.png`],
    ['a lower-case object id', `https://${host}/${USER}/${ID.toLowerCase()}_photo.png`],
    ['an object id outside Crockford base32', `https://${host}/${USER}/${ID.slice(0, 25)}U_photo.png`],
    ['no name', `https://${host}/${USER}/${ID}_.png`],
    ['no underscore', `https://${host}/${USER}/${ID}photo.png`],
    ['the base alone', `https://${host}`],
    ['the base with a slash', `https://${host}/`]
  ])('refuses %s', (_, url) => {
    expect(parseObjectUrl(url, vhost)).toBeNull()
  })

  it('refuses a name that is not NFC or is too long', () => {
    const decomposed = `https://${host}/${USER}/${ID}_e%CC%81.png`
    expect(parseObjectUrl(decomposed, vhost)).toBeNull()

    expect(parseObjectUrl(`https://${host}/${USER}/${ID}_${'a'.repeat(64)}.png`, vhost)?.userId).toBe(USER)
    expect(parseObjectUrl(`https://${host}/${USER}/${ID}_${'a'.repeat(65)}.png`, vhost)).toBeNull()
  })

  it('requires the base path of a path-style public URL', () => {
    const keyPath = `thumbnails/${USER}/${ID}_photo.png`

    expect(parseObjectUrl(`http://127.0.0.1:9000/${keyPath}`, pathStyle)).toBeNull()
    expect(parseObjectUrl(`http://127.0.0.1:9000/bucket2/${keyPath}`, pathStyle)).toBeNull()
    expect(parseObjectUrl(`http://127.0.0.1:9000/other/bucket/${keyPath}`, pathStyle)).toBeNull()
    expect(parseObjectUrl(`http://127.0.0.1:9000/Bucket/${keyPath}`, pathStyle)).toBeNull()
    expect(parseObjectUrl(`http://127.0.0.1:9000/bucket%2F${keyPath}`, pathStyle)).toBeNull()
    expect(parseObjectUrl(`http://127.0.0.1:9001/bucket/${keyPath}`, pathStyle)).toBeNull()
    expect(parseObjectUrl(`http://localhost:9000/bucket/${keyPath}`, pathStyle)).toBeNull()
    expect(parseObjectUrl(`https://127.0.0.1:9000/bucket/${keyPath}`, pathStyle)).toBeNull()
  })

  it('requires exactly the configured key prefix', () => {
    const rest = `${USER}/${ID}_photo.png`

    expect(parseObjectUrl(`http://127.0.0.1:9000/bucket/${rest}`, pathStyle)).toBeNull()
    expect(parseObjectUrl(`http://127.0.0.1:9000/bucket/thumbnails2/${rest}`, pathStyle)).toBeNull()
    expect(parseObjectUrl(`http://127.0.0.1:9000/bucket/Thumbnails/${rest}`, pathStyle)).toBeNull()
    expect(parseObjectUrl(`http://127.0.0.1:9000/bucket/x/thumbnails/${rest}`, pathStyle)).toBeNull()
    expect(parseObjectUrl(`https://${host}/thumbnails/${rest}`, vhost)).toBeNull()
  })

  it('returns null for values that are not strings', () => {
    for (const value of [undefined, null, 42, {}, ['https://x']]) {
      expect(parseObjectUrl(value as unknown as string, vhost)).toBeNull()
    }
  })
})

describe('parseObjectKey', () => {
  it('splits a key under the prefix', () => {
    expect(parseObjectKey(KEY, { keyPrefix: 'thumbnails/' })).toMatchObject({ key: KEY, userId: USER })
  })

  it.each([
    `other/${USER}/${ID}_photo.png`,
    `thumbnails/../${USER}/${ID}_photo.png`,
    `thumbnails/${USER}/../${ID}_photo.png`,
    `thumbnails/${USER}/${ID}_photo.png/`,
    `thumbnails/${USER}/${ID}_ph\\oto.png`,
    `thumbnails/${USER}/${ID}_ph"oto.png`,
    `thumbnails/${USER}/${ID}_ph\u0000oto.png`,
    `thumbnails/${USER}/${ID}_ph\u202Eoto.png`
  ])('refuses %j', (key) => {
    expect(parseObjectKey(key, { keyPrefix: 'thumbnails/' })).toBeNull()
  })
})

describe('assertKeyPrefix', () => {
  it.each(['', 'thumbnails/', 'media/thumbs/', 'a-b_c.d/'])('accepts %j', (prefix) => {
    expect(() => assertKeyPrefix(prefix)).not.toThrow()
  })

  it.each(['thumbnails', '/thumbnails/', '../', './', 'a/../', 'a//', 'a b/', 'ü/', 'a%2F/', 'a\\b/',
    `${'a'.repeat(256)}/`])('refuses %j', (prefix) => {
    expect(() => assertKeyPrefix(prefix)).toThrow(TypeError)
  })
})

describe('isCleanName', () => {
  it('accepts letters, digits, marks, - and _ of any script', () => {
    expect(isCleanName('Hello-World_2024')).toBe(true)
    expect(isCleanName('写真')).toBe(true)
    expect(isCleanName('नमस्ते')).toBe(true)
  })

  it('refuses separators, dots, quotes, controls, format characters and overlong names', () => {
    for (const name of ['', 'a/b', 'a\\b', 'a.b', 'a"b', "a'b", 'a\u0000b', 'a\u202Eb', 'a b', '😀',
      'a'.repeat(65), '写'.repeat(43), 'e\u0301']) {
      expect(isCleanName(name)).toBe(false)
    }
    expect(isCleanName('写'.repeat(42))).toBe(true)
  })
})
