import { isCleanName, isIssuedObjectId, parseObjectKey } from '@tessera/media-url'
import { describe, expect, it } from 'vitest'
import {
  CACHE_CONTROL,
  cleanFileName,
  contentDisposition,
  newObjectId,
  objectKey
} from '../../src/storage/names.js'

const USER = '0f8fad5b-d9cb-469f-a165-70867728950e'
const ID = '01HZX3N5R8V7QK2M4T6W9Y0ABC'

describe('newObjectId', () => {
  it('is 26 Crockford base32 characters and unique', () => {
    const ids = new Set(Array.from({ length: 1000 }, () => newObjectId()))

    expect(ids.size).toBe(1000)
    for (const id of ids) expect(id).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/)
  })

  it('starts with the time, so later ids sort after earlier ones', () => {
    expect(newObjectId(0).slice(0, 10)).toBe('0000000000')
    expect(newObjectId(1_700_000_000_000).slice(0, 10)).toBe('01HF7YAT00')
    expect(newObjectId(2 ** 48 - 1).slice(0, 10)).toBe('7ZZZZZZZZZ')
    expect(newObjectId(1_700_000_000_001) > newObjectId(1_700_000_000_000)).toBe(true)
  })
})

describe('cleanFileName', () => {
  it.each([
    ['photo.png', 'photo'],
    ['My Holiday Photo.JPG', 'My-Holiday-Photo'],
    ['archive.tar.gz', 'archive-tar'],
    ['../../etc/passwd', 'passwd'],
    ['..\\..\\windows\\win.ini', 'win'],
    ['C:\\Users\\me\\Pictures\\cat.jpeg', 'cat'],
    ['a/b\\c', 'c'],
    ['dir/', 'file'],
    ['..', 'file'],
    ['.hidden', 'hidden'],
    ['', 'file'],
    [undefined, 'file'],
    ['new\r\nline\u0000nul\u0007bell.png', 'new-line-nul-bell'],
    ['say "hi" it\'s `me`.png', 'say-hi-it-s-me'],
    ['<script>alert(1)</script>.svg', 'script'],
    ['<img src=x onerror=alert(1)>.png', 'img-src-x-onerror-alert-1'],
    ['invoice\u202Egnp.exe', 'invoice-gnp'],
    ['zero\u200Bwidth\uFEFF.png', 'zero-width'],
    ['😀🎉.png', 'file'],
    ['cat 😀 dog.gif', 'cat-dog'],
    ['写真 2024.jpg', '写真-2024'],
    ['صورة شخصية.png', 'صورة-شخصية'],
    ['Привет мир.webp', 'Привет-мир'],
    ['नमस्ते.png', 'नमस्ते'],
    ['__--a--__.png', 'a'],
    ['a___b.png', 'a___b'],
    ['%2e%2e%2fetc.png', '2e-2e-2fetc'],
    ['ｆｕｌｌ／ｗｉｄｔｈ.png', 'ｆｕｌｌ-ｗｉｄｔｈ']
  ])('%j → %j', (input, expected) => {
    expect(cleanFileName(input)).toBe(expected)
  })

  it('composes to NFC', () => {
    expect(cleanFileName('Cafe\u0301.png')).toBe('Caf\u00e9')
    expect(cleanFileName('\u0301lead.png')).toBe('lead')
  })

  it('cuts long names to 64 code points', () => {
    expect(cleanFileName('a'.repeat(500) + '.png')).toBe('a'.repeat(64))
    expect(cleanFileName('😀'.repeat(100) + 'b'.repeat(500))).toBe('b'.repeat(64))
  })

  it('cuts long multi-byte names to 128 bytes at a character boundary', () => {
    const name = cleanFileName('写'.repeat(500))

    expect(name).toBe('写'.repeat(42))
    expect(Buffer.byteLength(name)).toBe(126)
  })

  it('never splits a letter from its combining marks', () => {
    const name = cleanFileName('a'.repeat(63) + 'e\u0301\u0302x')

    expect(name).toBe('a'.repeat(63))
    expect(cleanFileName('b'.repeat(62) + 'किx')).toBe('b'.repeat(62) + 'कि')
    expect(cleanFileName('b'.repeat(63) + 'कि')).toBe('b'.repeat(63))
  })

  it('drops a separator left at the cut', () => {
    expect(cleanFileName('a'.repeat(63) + ' tail')).toBe('a'.repeat(63))
  })

  it('yields only clean names for any input', () => {
    const samples = ['\u0000'.repeat(10), '/'.repeat(100), '...', 'a\u0301'.repeat(100), '\uD800lonely',
      '\u{10FFFF}', 'x'.repeat(10_000)]
    for (const sample of samples) expect(isCleanName(cleanFileName(sample))).toBe(true)
  })
})

describe('objectKey', () => {
  it('puts the clean name and the detected extension under the user', () => {
    expect(objectKey({ keyPrefix: 'thumbnails/', userId: USER, fileName: 'Me at the beach.JPG', ext: 'png', id: ID }))
      .toEqual({ key: `thumbnails/${USER}/${ID}_Me-at-the-beach.png`, fileName: 'Me-at-the-beach.png' })
  })

  it('makes keys the URL parser accepts, well under 1024 bytes', () => {
    for (const fileName of ['../../etc/passwd', 'a/b\\c', '写'.repeat(500), 'x\u202Ey', '😀', '']) {
      const { key } = objectKey({ keyPrefix: 'media/thumbs/', userId: USER, fileName, ext: 'webp' })

      expect(key.startsWith(`media/thumbs/${USER}/`)).toBe(true)
      expect(parseObjectKey(key, { keyPrefix: 'media/thumbs/' })).toMatchObject({ key, userId: USER })
      expect(Buffer.byteLength(key)).toBeLessThan(300)
    }
  })

  it('refuses a user id that is not a lowercase UUID and a bad prefix', () => {
    expect(() => objectKey({ keyPrefix: '', userId: '../x', fileName: 'a', ext: 'png' })).toThrow(TypeError)
    expect(() => objectKey({ keyPrefix: '', userId: USER.toUpperCase(), fileName: 'a', ext: 'png' })).toThrow(TypeError)
    expect(() => objectKey({ keyPrefix: '../', userId: USER, fileName: 'a', ext: 'png' })).toThrow(TypeError)
  })
})

describe('contentDisposition', () => {
  it('gives an ASCII name and the exact UTF-8 name', () => {
    expect(contentDisposition('photo.png')).toBe('inline; filename="photo.png"; filename*=UTF-8\'\'photo.png')
    expect(contentDisposition('Café-au-lait.jpg'))
      .toBe('inline; filename="Cafe-au-lait.jpg"; filename*=UTF-8\'\'Caf%C3%A9-au-lait.jpg')
  })

  it('falls back to "file" when nothing ASCII is left', () => {
    expect(contentDisposition('写真.webp')).toBe('inline; filename="file.webp"; filename*=UTF-8\'\'%E5%86%99%E7%9C%9F.webp')
    expect(contentDisposition('写真_2024.gif')).toBe('inline; filename="2024.gif"; filename*=UTF-8\'\'%E5%86%99%E7%9C%9F_2024.gif')
  })

  it('keeps quotes, backslashes and controls out of the header even for raw input', () => {
    const header = contentDisposition('a"b\\c\r\nd\'e(f).png')

    expect(header).toBe('inline; filename="a_b_c_d_e_f.png"; filename*=UTF-8\'\'a%22b%5Cc%0D%0Ad%27e%28f%29.png')
  })
})

describe('CACHE_CONTROL', () => {
  it('is public, a year and immutable', () => {
    expect(CACHE_CONTROL).toBe('public, max-age=31536000, immutable')
  })
})

describe('signed object keys', () => {
  it('signs the id with MEDIA_URL_SECRET so the profile service can tell an issued key', () => {
    const secret = 'shared-media-url-secret-0123456789abcdef'
    const { key, fileName } = objectKey({ keyPrefix: 'thumbnails/', userId: USER, fileName: 'Cat photo.PNG', ext: 'png', secret })
    const parsed = parseObjectKey(key, { keyPrefix: 'thumbnails/' })

    expect(fileName).toBe('Cat-photo.png')
    expect(parsed).toMatchObject({ key, userId: USER, fileName: 'Cat-photo.png' })
    expect(isIssuedObjectId(secret, USER, parsed!.id, parsed!.fileName)).toBe(true)
    expect(isIssuedObjectId(secret + '!', USER, parsed!.id, parsed!.fileName)).toBe(false)
  })
})
