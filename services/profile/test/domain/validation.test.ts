import { HttpErrors, ValidationFailedError } from '@tessera/http'
import { issueObjectId, objectUrl } from '@tessera/media-url'
import { describe, expect, it } from 'vitest'
import {
  checkBirthDate, normaliseEmail, normaliseGithubLink, normalisePhone, validateActivation,
  validateLogin, validatePasswordReset, validateRegistration, validateSuperuser, validateUpdate,
  type UpdateOptions
} from '../../src/domain/validation.js'

const USER_ID = '0b6f0a8e-5f57-4d4c-9a57-1f1f6a0d2c11'
const OTHER_ID = '7d2f5f0c-3a3b-4c5e-8f9a-2b2c3d4e5f60'
const media = { publicUrl: 'http://127.0.0.1:9000/thumbnails', keyPrefix: 'media/' }
const NOW = new Date('2024-03-10T12:00:00Z')
const options: UpdateOptions = { userId: USER_ID, media, now: NOW }

function fieldsOf (fn: () => unknown): Record<string, string> {
  try {
    fn()
  } catch (err) {
    if (err instanceof ValidationFailedError) {
      expect(err.statusCode).toBe(422)
      expect(err.code).toBe('PROFILE_VALIDATION_FAILED')
      return err.fields
    }
    throw err
  }
  throw new Error('expected a validation failure')
}

function thrownBy (fn: () => unknown): unknown {
  try {
    fn()
    return undefined
  } catch (err) {
    return err
  }
}

function problemOf (fn: () => unknown): string | undefined {
  return (thrownBy(fn) as Error | undefined)?.message
}

const PHONE_EXAMPLE = 'must be a phone number such as +16502530000'
const NEEDS_COUNTRY = 'must start with + and the country code, such as +16502530000'
const LINK_FORM = 'must be a link such as https://github.com/<user>'
const LINK_USER = 'must be a link to a GitHub user, such as https://github.com/<user>'
const SHORT_PASSWORD = 'must be at least 8 bytes long'

function thumbnailFor (userId: string): string {
  return objectUrl(`media/${userId}/01HZX3V9Q6M4T8KJ2P0R5S7W9A_avatar.png`, media)
}

describe('registration', () => {
  it('trims e-mail and names, keeps the password as typed', () => {
    const result = validateRegistration({
      email: '  Ada.Lovelace@Example.COM ',
      first_name: ' Ada ',
      last_name: 'Lovelace',
      password: ' pass word '
    })

    expect(result).toEqual({
      email: 'Ada.Lovelace@Example.COM', firstName: 'Ada', lastName: 'Lovelace', password: ' pass word '
    })
  })

  it('names every bad and missing field at once', () => {
    const body = { email: 'not-an-address', first_name: '   ', password: 'short' }
    expect(fieldsOf(() => validateRegistration(body))).toEqual({
      email: 'must be a valid email address',
      first_name: 'must not be empty',
      last_name: 'must be provided',
      password: SHORT_PASSWORD
    })
  })

  it('counts the password in UTF-8 bytes: 8 to 72', () => {
    const body = (password: string) => ({
      email: 'a@example.com', first_name: 'A', last_name: 'B', password
    })

    // 'é' is two bytes: four of them are 8 bytes, 36 are 72 and 37 are 74
    expect(validateRegistration(body('éééé')).password).toBe('éééé')
    expect(validateRegistration(body('é'.repeat(36))).password).toBe('é'.repeat(36))
    expect(fieldsOf(() => validateRegistration(body('é'.repeat(37))))).toEqual({
      password: 'must not be more than 72 bytes long'
    })
    expect(fieldsOf(() => validateRegistration(body('ééé')))).toEqual({ password: SHORT_PASSWORD })
  })

  it('caps names at 150 characters, counting code points', () => {
    const body = (name: string) => ({
      email: 'a@example.com', first_name: name, last_name: 'B', password: 'password'
    })

    expect(validateRegistration(body('😀'.repeat(150))).firstName).toBe('😀'.repeat(150))
    expect(fieldsOf(() => validateRegistration(body('a'.repeat(151))))).toEqual({
      first_name: 'must not be more than 150 characters long'
    })
    expect(fieldsOf(() => validateRegistration(body('Ada\nLovelace')))).toEqual({
      first_name: 'must not contain control characters'
    })
    expect(fieldsOf(() => validateRegistration(body('Ada\uD800')))).toEqual({
      first_name: 'must not contain control characters'
    })
  })

  it('rejects unknown keys and wrong types as malformed (400)', () => {
    const good = { email: 'a@example.com', first_name: 'A', last_name: 'B', password: 'password' }

    const unknown = thrownBy(() => validateRegistration({ ...good, is_superuser: true }))
    expect(unknown).toBeInstanceOf(HttpErrors.UnknownKey)
    expect(unknown).toMatchObject({ statusCode: 400, message: 'body contains unknown key "is_superuser"' })

    const wrongType = thrownBy(() => validateRegistration({ ...good, email: 42 }))
    expect(wrongType).toBeInstanceOf(HttpErrors.BadRequest)
    expect(wrongType).toMatchObject({
      statusCode: 400, message: 'body contains incorrect JSON type for "email": must be a string'
    })

    for (const body of [null, [], 'text', 1]) {
      expect(problemOf(() => validateRegistration(body))).toBe('body must be an object')
    }
  })
})

describe('e-mail syntax', () => {
  it.each([
    ['plain', 'user@example.com'],
    ['sub-domains and plus', 'first.last+tag@mail.example.co.uk'],
    ['punycode top-level domain', 'user@example.xn--p1ai']
  ])('accepts %s', (_name, address) => {
    expect(normaliseEmail(address)).toBe(address)
  })

  it.each([
    'user', 'user@', '@example.com', 'user@example', 'user@@example.com', 'us er@example.com',
    '.user@example.com', 'user.@example.com', 'us..er@example.com', 'user@-example.com',
    'user@example-.com', 'user@example.c', 'user@[127.0.0.1]', '"user"@example.com',
    'user@exa_mple.com', `${'a'.repeat(65)}@example.com`
  ])('rejects %s', (address) => {
    expect(problemOf(() => normaliseEmail(address))).toBe('must be a valid email address')
  })

  it('rejects addresses over 254 characters', () => {
    const longest = `user@${'a'.repeat(60)}.${'b'.repeat(60)}.${'c'.repeat(60)}.${'d'.repeat(62)}.com`
    expect(longest.length).toBe(254)
    expect(normaliseEmail(longest)).toBe(longest)
    expect(problemOf(() => normaliseEmail(longest.replace('user', 'users'))))
      .toBe('must not be more than 254 characters long')
  })
})

describe('login and codes', () => {
  it('only bounds the login password, so an old short one still gets checked', () => {
    const login = (password: string) => validateLogin({ email: ' A@Example.com', password })

    expect(login('short')).toEqual({ email: 'A@Example.com', password: 'short' })
    expect(fieldsOf(() => login(''))).toEqual({ password: 'must be provided' })
    expect(fieldsOf(() => login('x'.repeat(73)))).toEqual({
      password: 'must not be more than 72 bytes long'
    })
  })

  it('drops spaces in a submitted code and wants six digits', () => {
    expect(validateActivation({ token: ' 123 456 ' })).toEqual({ token: '123456' })
    const sixDigits = { token: 'must be a 6-digit code' }
    expect(fieldsOf(() => validateActivation({ token: '12345' }))).toEqual(sixDigits)
    expect(fieldsOf(() => validateActivation({ token: '１２３４５６' }))).toEqual(sixDigits)
    expect(fieldsOf(() => validatePasswordReset({ token: 'abcdef', password: 'x' }))).toEqual({
      ...sixDigits, password: SHORT_PASSWORD
    })
  })

  it('holds create-superuser input to the same rules, names optional', () => {
    expect(validateSuperuser({ email: ' Root@Example.com ', password: 'long enough' })).toEqual({
      email: 'Root@Example.com', password: 'long enough', firstName: undefined, lastName: undefined
    })
    expect(fieldsOf(() => validateSuperuser({ email: undefined, password: 5, firstName: '' }))).toEqual({
      email: 'must be provided', password: 'must be text', first_name: 'must not be empty'
    })
  })
})

describe('birth date', () => {
  it.each(['2000-02-29', '1900-01-01', '2024-03-10', '1987-12-31'])('accepts %s', (date) => {
    expect(checkBirthDate(date, NOW)).toBe(date)
  })

  it.each([
    ['2023-02-29', 'must be a real calendar date'],
    ['1900-02-29', 'must be a real calendar date'],
    ['2023-04-31', 'must be a real calendar date'],
    ['2023-13-01', 'must be a real calendar date'],
    ['2023-00-10', 'must be a real calendar date'],
    ['1899-12-31', 'must not be before 1900-01-01'],
    ['0050-01-01', 'must not be before 1900-01-01'],
    ['2024-03-12', 'must not be in the future'],
    ['2999-01-01', 'must not be in the future'],
    ['2023-2-28', 'must be a date in the form YYYY-MM-DD'],
    ['2023-02-28T00:00:00Z', 'must be a date in the form YYYY-MM-DD'],
    ['28/02/2023', 'must be a date in the form YYYY-MM-DD'],
    ['٢٠٢٣-٠٢-٢٨', 'must be a date in the form YYYY-MM-DD']
  ])('rejects %s', (date, message) => {
    expect(problemOf(() => checkBirthDate(date, NOW))).toBe(message)
  })

  it('takes today from the earliest time zone, UTC+14', () => {
    // 11:00 UTC on the 10th is already 01:00 on the 11th in Kiribati, not yet anywhere later
    const now = new Date('2024-03-10T11:00:00Z')
    expect(checkBirthDate('2024-03-11', now)).toBe('2024-03-11')
    const earlier = new Date('2024-03-10T09:59:59Z')
    expect(problemOf(() => checkBirthDate('2024-03-11', earlier))).toBe('must not be in the future')
  })
})

describe('phone number', () => {
  it('normalises to E.164', () => {
    expect(normalisePhone('+1 650-253-0000')).toBe('+16502530000')
    expect(normalisePhone('+44 (20) 7031 3000')).toBe('+442070313000')
    expect(normalisePhone('+16502530000')).toBe('+16502530000')
  })

  it('wants a country code unless a default region is configured', () => {
    expect(problemOf(() => normalisePhone('650 253 0000'))).toBe(NEEDS_COUNTRY)
    expect(normalisePhone('(650) 253-0000', 'US')).toBe('+16502530000')
    expect(normalisePhone('020 7031 3000', 'GB')).toBe('+442070313000')
  })

  it.each([
    ['+1 555 0100', 'must be a valid phone number'],
    ['+1 000 000 0000', 'must be a valid phone number'],
    ['+44 20 7031 300', 'must be a valid phone number'],
    ['+999 123 4567', 'must be a valid phone number'],
    ['+1-800-FLOWERS', PHONE_EXAMPLE],
    ['+1 650 253 0000 ext. 12', PHONE_EXAMPLE],
    ['call +16502530000', PHONE_EXAMPLE],
    ['+'.padEnd(40, '1'), PHONE_EXAMPLE]
  ])('rejects %s', (phone, message) => {
    expect(problemOf(() => normalisePhone(phone))).toBe(message)
  })
})

describe('GitHub link', () => {
  it.each([
    ['https://github.com/octocat', 'https://github.com/octocat'],
    ['https://github.com/octocat/', 'https://github.com/octocat'],
    ['http://github.com/octocat', 'https://github.com/octocat'],
    ['https://www.github.com/Octo-Cat', 'https://github.com/Octo-Cat'],
    ['HTTPS://GITHUB.COM/octocat', 'https://github.com/octocat'],
    ['  https://github.com/a  ', 'https://github.com/a'],
    [`https://github.com/${'a'.repeat(39)}`, `https://github.com/${'a'.repeat(39)}`]
  ])('accepts %s', (link, stored) => {
    expect(normaliseGithubLink(link)).toBe(stored)
  })

  it.each([
    'https://github.com.evil.com/octocat',
    'https://gihub.com/octocat',
    'https://evil.com/github.com/octocat',
    'https://evilgithub.com/octocat',
    'https://github.com./octocat',
    'https://gist.github.com/octocat',
    'https://xn--github-9ta.com/octocat',
    'https://gіthub.com/octocat',
    'https://github.com:443/octocat',
    'https://github.com:8443/octocat',
    'https:github.com/octocat',
    'https:///github.com/octocat',
    'ftp://github.com/octocat',
    'javascript:alert(1)',
    'javascript://github.com/octocat',
    'data:text/html,github.com/octocat',
    'github.com/octocat'
  ])('rejects the host or scheme of %s', (link) => {
    expect(problemOf(() => normaliseGithubLink(link))).toMatch(/^must be a link (to github\.com|such as)/)
  })

  it.each([
    'https://github.com@evil.com/octocat',
    'https://user@github.com/octocat',
    'https://github.com/octocat?tab=repositories',
    'https://github.com/octocat#top',
    'https://github.com/octocat?',
    'https://github.com/%6Fctocat',
    'https://github%2Ecom/octocat',
    'https://github.com\\@evil.com/octocat',
    'https://git\thub.com/octocat',
    'https://github.com/octo cat'
  ])('rejects the parts a link must not have in %s', (link) => {
    expect(problemOf(() => normaliseGithubLink(link))).toBe(LINK_FORM)
  })

  it.each([
    'https://github.com/',
    'https://github.com',
    'https://github.com/octocat/repo',
    'https://github.com/-octocat',
    'https://github.com/octocat-',
    'https://github.com/octo--cat',
    'https://github.com/octo_cat',
    'https://github.com/octo.cat',
    `https://github.com/${'a'.repeat(40)}`
  ])('rejects the user path of %s', (link) => {
    expect(problemOf(() => normaliseGithubLink(link))).toBe(LINK_USER)
  })
})

describe('PATCH body', () => {
  it('returns only the keys given, normalised, and clears nullable fields with null or ""', () => {
    const patch = validateUpdate({
      first_name: ' Grace ',
      thumbnail: thumbnailFor(USER_ID),
      phone_number: '+1 650 253 0000',
      birth_date: null,
      github_link: ''
    }, options)

    expect(patch).toEqual({
      first_name: 'Grace',
      thumbnail: thumbnailFor(USER_ID),
      phone_number: '+16502530000',
      birth_date: null,
      github_link: null
    })
    expect(validateUpdate({}, options)).toEqual({})
    expect(validateUpdate({ thumbnail: '', phone_number: null }, options))
      .toEqual({ thumbnail: null, phone_number: null })
  })

  it('refuses to clear names and names every bad field at once', () => {
    expect(fieldsOf(() => validateUpdate({
      first_name: null,
      last_name: '  ',
      phone_number: '12345',
      birth_date: '2023-02-29',
      github_link: 'https://github.com.evil.com/x',
      thumbnail: 'https://evil.example/media/x.png'
    }, options))).toEqual({
      first_name: 'must not be empty',
      last_name: 'must not be empty',
      phone_number: NEEDS_COUNTRY,
      birth_date: 'must be a real calendar date',
      github_link: 'must be a link to github.com',
      thumbnail: 'must be the URL of a thumbnail you uploaded'
    })
  })

  it('accepts, when a secret is shared with media, only an object id media signed for this user and name', () => {
    const secret = 'shared-media-url-secret-0123456789abcdef'
    const signed = { ...options, media: { ...media, secret } }
    const issued = (userId: string, name: string) =>
      objectUrl(`media/${userId}/${issueObjectId(secret, userId, name)}_${name}`, media)

    const url = issued(USER_ID, 'avatar.png')
    expect(validateUpdate({ thumbnail: url }, signed)).toEqual({ thumbnail: url })

    const forged = [
      thumbnailFor(USER_ID),
      url.replace('avatar.png', 'other.png'),
      issued(OTHER_ID, 'avatar.png').replace(OTHER_ID, USER_ID)
    ]
    for (const thumbnail of forged) {
      expect(fieldsOf(() => validateUpdate({ thumbnail }, signed))).toEqual({
        thumbnail: 'must be the URL of a thumbnail you uploaded'
      })
    }
  })

  it('accepts only a thumbnail the media service issued for this user', () => {
    expect(fieldsOf(() => validateUpdate({ thumbnail: thumbnailFor(OTHER_ID) }, options))).toEqual({
      thumbnail: 'must be the URL of a thumbnail you uploaded'
    })
    expect(fieldsOf(() => validateUpdate({ thumbnail: thumbnailFor(USER_ID) + '?x=1' }, options))).toEqual({
      thumbnail: 'must be the URL of a thumbnail you uploaded'
    })
    const otherDeployment = { ...options, media: { ...media, keyPrefix: 'other/' } }
    expect(fieldsOf(() => validateUpdate({ thumbnail: thumbnailFor(USER_ID) }, otherDeployment))).toEqual({
      thumbnail: 'must be the URL of a thumbnail you uploaded'
    })
  })

  it('rejects unknown keys and wrong types as malformed (400)', () => {
    expect(problemOf(() => validateUpdate({ email: 'x@example.com' }, options)))
      .toBe('body contains unknown key "email"')
    expect(problemOf(() => validateUpdate({ is_superuser: true }, options)))
      .toBe('body contains unknown key "is_superuser"')
    expect(problemOf(() => validateUpdate({ birth_date: 19900101 }, options)))
      .toBe('body contains incorrect JSON type for "birth_date": must be a string or null')
    expect(problemOf(() => validateUpdate({ first_name: ['Ada'] }, options)))
      .toBe('body contains incorrect JSON type for "first_name": must be a string')
  })
})
