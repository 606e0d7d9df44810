import { describe, expect, it } from 'vitest'
import { isIssuedObjectId, issueObjectId, newObjectId, OBJECT_ID_PATTERN, parseObjectKey } from '../src/index.js'

const SECRET = 'a-secret-of-at-least-thirty-two-characters'
const USER = '6f1c2f0e-8f5c-4c52-9a3e-2b1d0c9e8f7a'
const OTHER = '0b6e3c1a-2d4f-4e8a-9c7b-1a2b3c4d5e6f'

describe('object ids', () => {
  it('lays a plain id out like a ULID: time first, so ids sort by upload time', () => {
    const early = newObjectId(1_700_000_000_000)
    const late = newObjectId(1_700_000_000_001)
    expect(early).toMatch(OBJECT_ID_PATTERN)
    expect(early.slice(0, 10) < late.slice(0, 10)).toBe(true)
  })

  it('recognises an id it issued for this owner and file name', () => {
    const id = issueObjectId(SECRET, USER, 'cat.png')
    expect(id).toMatch(OBJECT_ID_PATTERN)
    expect(isIssuedObjectId(SECRET, USER, id, 'cat.png')).toBe(true)
  })

  it.each([
    ['another owner', (id: string) => isIssuedObjectId(SECRET, OTHER, id, 'cat.png')],
    ['another file name', (id: string) => isIssuedObjectId(SECRET, USER, id, 'dog.png')],
    ['another extension', (id: string) => isIssuedObjectId(SECRET, USER, id, 'cat.jpg')],
    ['another secret', (id: string) => isIssuedObjectId(SECRET + 'x', USER, id, 'cat.png')],
    ['a changed time', (id: string) => isIssuedObjectId(SECRET, USER, '1' + id.slice(1), 'cat.png')],
    ['a changed signature', (id: string) => isIssuedObjectId(SECRET, USER, id.slice(0, 25) + (id.endsWith('0') ? '1' : '0'), 'cat.png')],
    ['a plain id', () => isIssuedObjectId(SECRET, USER, newObjectId(), 'cat.png')],
    ['a malformed id', () => isIssuedObjectId(SECRET, USER, 'not-an-id', 'cat.png')]
  ])('refuses %s', (_label, check) => {
    expect(check(issueObjectId(SECRET, USER, 'cat.png'))).toBe(false)
  })

  it('parses the id and file name out of a key', () => {
    const id = issueObjectId(SECRET, USER, 'cat.png')
    expect(parseObjectKey(`thumbnails/${USER}/${id}_cat.png`, { keyPrefix: 'thumbnails/' }))
      .toEqual({ key: `thumbnails/${USER}/${id}_cat.png`, userId: USER, id, fileName: 'cat.png' })
  })
})
