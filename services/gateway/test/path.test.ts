import { describe, expect, it } from 'vitest'
import { isForwardablePath } from '../src/proxy/path.js'

describe('isForwardablePath', () => {
  it.each([
    '/users/login/',
    '/users/activate/0b8e4f4e-0000-4000-8000-000000000000/',
    '/file/delete/?thumbnail_url=https%3A%2F%2Fs3.example%2Fa%2Fb.png',
    '/users/a..b/.hidden/x.y',
    '/users/caf%C3%A9/',
    '/users/x?next=/../../etc'
  ])('forwards %s', (target) => {
    expect(isForwardablePath(target)).toBe(true)
  })

  it.each([
    '/users/../file/x',
    '/users/./x',
    '/users/%2e%2e/file',
    '/users/%2E./file',
    '/users//x',
    '/users/a%2fb',
    '/users/a%5Cb',
    '/users/a\\b',
    '/users/%',
    '/users/%c3',
    '/users/a%00',
    '/users/a#b',
    'http://evil.example/users/x',
    '*'
  ])('refuses %s', (target) => {
    expect(isForwardablePath(target)).toBe(false)
  })
})
