import { describe, expect, it } from 'vitest'
import { createPasswords, DEFAULT_ARGON2 } from '../../src/domain/passwords.js'

describe('passwords', () => {
  const passwords = createPasswords()

  it('hashes with argon2id at the OWASP baseline by default', async () => {
    const hashed = await passwords.hash('correct horse battery staple')

    expect(DEFAULT_ARGON2).toEqual({ memoryCost: 19_456, timeCost: 2, parallelism: 1 })
    expect(hashed).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/)
    expect(await passwords.hash('correct horse battery staple')).not.toBe(hashed)
  })

  it('verifies the right password only', async () => {
    const hashed = await passwords.hash('pässwörd 😀')

    expect(await passwords.verify(hashed, 'pässwörd 😀')).toBe(true)
    expect(await passwords.verify(hashed, 'pässwörd 😀 ')).toBe(false)
    expect(await passwords.verify(hashed, 'passwörd 😀')).toBe(false)
  })

  it('answers false for an unknown account, after checking the dummy hash, and a broken hash', async () => {
    await passwords.ready()

    expect(await passwords.verify(null, 'anything at all')).toBe(false)
    expect(await passwords.verify('not a hash', 'anything at all')).toBe(false)
    expect(await passwords.verify('', '')).toBe(false)
  })

  it('tells when a hash was made with other settings', async () => {
    const stronger = createPasswords({ memoryCost: 47_104, timeCost: 1 })
    const hashed = await passwords.hash('password')

    expect(passwords.needsRehash(hashed)).toBe(false)
    expect(stronger.needsRehash(hashed)).toBe(true)
    expect(await stronger.verify(hashed, 'password')).toBe(true)
    expect(passwords.needsRehash('$2b$10$bcryptbcryptbcryptbcryptbcryptbcryptbcryptbcrypt')).toBe(true)
  })

  it('refuses settings below the OWASP minimum', () => {
    expect(() => createPasswords({ memoryCost: 4096 })).toThrow(RangeError)
    expect(() => createPasswords({ memoryCost: 12_288, timeCost: 1 })).toThrow('below the OWASP minimum')
    expect(() => createPasswords({ parallelism: 0 })).toThrow(RangeError)
    expect(createPasswords({ memoryCost: 7_168, timeCost: 5 }).settings).toEqual({
      memoryCost: 7_168, timeCost: 5, parallelism: 1
    })
  })
})
