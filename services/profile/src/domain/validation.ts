import { HttpErrors } from '@tessera/http'
import { isIssuedObjectId, parseObjectUrl } from '@tessera/media-url'
import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js/max'
import type { UserPatch } from '../data/users.js'
import { profileValidationFailed } from '../errors.js'

export const EMAIL_MAX_LENGTH = 254
export const PASSWORD_MIN_BYTES = 8
export const PASSWORD_MAX_BYTES = 72
export const NAME_MAX_LENGTH = 150
export const EARLIEST_BIRTH_DATE = '1900-01-01'

const LOCAL_PART = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/
const DOMAIN_LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/
const TOP_LEVEL_LABEL = /^(?:[A-Za-z]{2,63}|xn--[A-Za-z0-9-]{1,59})$/
const UNSAFE_TEXT = /[\p{Cc}\p{Zl}\p{Zp}]/u
// In u-mode a surrogate class matches only unpaired halves, which are not text
const LONE_SURROGATE = /[\uD800-\uDFFF]/u
const DATE_FORM = /^(\d{4})-(\d{2})-(\d{2})$/
const PHONE_CHARACTERS = /^\+?[0-9 ().-]+$/
// Letters, digits and single inner hyphens; the 39-character cap is checked apart
const GITHUB_USER = /^[A-Za-z0-9](?:-?[A-Za-z0-9])*$/
const GITHUB_USER_MAX_LENGTH = 39
const GITHUB_HOSTS = new Set(['github.com', 'www.github.com'])
// What the WHATWG parser would drop, repair or read as structure; none of it belongs in the link
const LINK_FORBIDDEN = /[\s\\@?#%\p{Cc}]/u
// The earliest time zone (UTC+14) decides "today", so no real birth date is ever in the future
const EARLIEST_ZONE_OFFSET_MS = 14 * 60 * 60 * 1000

const messages = {
  phone: 'must be a phone number such as +16502530000',
  github: 'must be a link such as https://github.com/<user>'
}

/** A field-level problem; collected with the others into one 422. */
class FieldProblem extends Error {}

function problem (message: string): never {
  throw new FieldProblem(message)
}

type Body = Record<string, unknown>

function asBody (body: unknown, allowed: readonly string[]): Body {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new HttpErrors.BadRequest('body must be an object')
  }

  for (const key of Object.keys(body)) {
    if (!allowed.includes(key)) throw new HttpErrors.UnknownKey(key)
  }
  return body as Body
}

// Wrong JSON types are malformed requests (400), as the route schemas would answer them
function wrongType (key: string, expected: string): never {
  const message = `body contains incorrect JSON type for "${key}": must be ${expected}`
  throw new HttpErrors.BadRequest(message)
}

/** Runs each field's check, keeping every message instead of stopping at the first bad field. */
function collect (input: Body) {
  const problems: Record<string, string> = {}

  function run<T> (key: string, value: string, check: (value: string) => T): T | undefined {
    try {
      return check(value)
    } catch (err) {
      if (!(err instanceof FieldProblem)) throw err
      problems[key] = err.message
      return undefined
    }
  }

  return {
    problems,
    run,

    required<T> (key: string, check: (value: string) => T): T | undefined {
      const value = input[key]
      if (value === undefined) {
        problems[key] = 'must be provided'
        return undefined
      }
      if (typeof value !== 'string') wrongType(key, 'a string')
      return run(key, value, check)
    },

    finish (): void {
      if (Object.keys(problems).length > 0) throw profileValidationFailed(problems)
    }
  }
}

/** Trims an address and checks its syntax; the case is kept, comparisons ignore it. */
export function normaliseEmail (raw: string): string {
  const email = raw.trim()
  if (email === '') problem('must be provided')
  if (email.length > EMAIL_MAX_LENGTH) {
    problem(`must not be more than ${EMAIL_MAX_LENGTH} characters long`)
  }

  const at = email.lastIndexOf('@')
  const local = email.slice(0, at)
  const labels = email.slice(at + 1).split('.')
  const valid = at > 0 && local.length <= 64 && LOCAL_PART.test(local) &&
    labels.length >= 2 && labels.every((label) => DOMAIN_LABEL.test(label)) &&
    TOP_LEVEL_LABEL.test(labels.at(-1) ?? '')
  if (!valid) problem('must be a valid email address')

  return email
}

/** Checks a new password's length in UTF-8 bytes, the unit of the 72 limit. */
export function checkPassword (password: string): string {
  const bytes = Buffer.byteLength(password, 'utf8')
  if (bytes < PASSWORD_MIN_BYTES) problem(`must be at least ${PASSWORD_MIN_BYTES} bytes long`)
  if (bytes > PASSWORD_MAX_BYTES) problem(`must not be more than ${PASSWORD_MAX_BYTES} bytes long`)
  if (LONE_SURROGATE.test(password)) problem('must be valid Unicode text')

  return password
}

/** Trims a name and checks it holds 1 to 150 characters (code points) of printable text. */
export function normaliseName (raw: string): string {
  const name = raw.trim()
  if (name === '') problem('must not be empty')
  if ([...name].length > NAME_MAX_LENGTH) {
    problem(`must not be more than ${NAME_MAX_LENGTH} characters long`)
  }
  if (UNSAFE_TEXT.test(name) || LONE_SURROGATE.test(name)) {
    problem('must not contain control characters')
  }

  return name
}

/** A submitted code without its spaces; the tokens module decides whether it is right. */
export function normaliseToken (raw: string): string {
  const token = raw.replace(/\s+/g, '')
  if (!/^\d{6}$/.test(token)) problem('must be a 6-digit code')

  return token
}

/**
 * Parses to E.164. A number without `+` needs `region`; only numbers that the full metadata
 * calls valid pass, not merely those of a possible length.
 */
export function normalisePhone (raw: string, region?: CountryCode): string {
  const text = raw.trim()
  if (text.length > 32 || !PHONE_CHARACTERS.test(text)) problem(messages.phone)
  if (!text.startsWith('+') && region === undefined) {
    problem('must start with + and the country code, such as +16502530000')
  }

  const parsed = parsePhoneNumberFromString(text, { defaultCountry: region, extract: false })
  if (parsed === undefined || !parsed.isValid()) problem('must be a valid phone number')

  return parsed.number
}

/**
 * Checks a `YYYY-MM-DD` birth date: a real calendar day, from 1900-01-01 to today, where today
 * is the date in the earliest time zone (UTC+14), so that nobody's real birthday is refused.
 */
export function checkBirthDate (raw: string, now: Date = new Date()): string {
  const match = DATE_FORM.exec(raw)
  if (match === null) problem('must be a date in the form YYYY-MM-DD')

  const [year, month, day] = match.slice(1).map(Number) as [number, number, number]
  const date = new Date(0)
  // setUTCFullYear, unlike Date.UTC, does not read years 0–99 as 1900–1999
  date.setUTCFullYear(year, month - 1, day)
  const sameDay = date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 &&
    date.getUTCDate() === day
  if (!sameDay) problem('must be a real calendar date')

  if (raw < EARLIEST_BIRTH_DATE) problem(`must not be before ${EARLIEST_BIRTH_DATE}`)
  const today = new Date(now.getTime() + EARLIEST_ZONE_OFFSET_MS).toISOString().slice(0, 10)
  if (raw > today) problem('must not be in the future')

  return raw
}

/**
 * Accepts `https://github.com/<user>` (also http, www., a trailing slash, any case of scheme
 * and host) and returns the canonical `https://github.com/<user>`. No userinfo, port, query,
 * fragment, escapes or second segment; the host must be spelled as parsed, so no look-alikes.
 */
export function normaliseGithubLink (raw: string): string {
  const text = raw.trim()
  if (text.length > 100 || LINK_FORBIDDEN.test(text)) problem(messages.github)

  let url: URL
  try {
    url = new URL(text)
  } catch {
    problem(messages.github)
  }

  // The authority as written must be exactly the parsed host: no port, no trailing dot,
  // nothing the parser decoded or converted on the way
  const slashes = text.indexOf('//')
  const authority = text.slice(slashes + 2).split('/')[0]?.toLowerCase()
  const asParsed = slashes === url.protocol.length && authority === url.hostname
  const webScheme = url.protocol === 'https:' || url.protocol === 'http:'
  if (!webScheme || !asParsed || !GITHUB_HOSTS.has(url.hostname)) {
    problem('must be a link to github.com')
  }

  const user = /^\/([^/]+)\/?$/.exec(url.pathname)?.[1]
  if (user === undefined || user.length > GITHUB_USER_MAX_LENGTH || !GITHUB_USER.test(user)) {
    problem('must be a link to a GitHub user, such as https://github.com/<user>')
  }

  return `https://github.com/${user}`
}

/** Accepts only a URL the media service issued for `userId` under this deployment's settings. */
export function checkThumbnail (raw: string, options: Pick<UpdateOptions, 'userId' | 'media'>) {
  const parsed = raw.length > 2048 ? null : parseObjectUrl(raw, options.media)
  const { secret } = options.media
  if (parsed === null || parsed.userId !== options.userId.toLowerCase() ||
    (secret !== undefined && !isIssuedObjectId(secret, parsed.userId, parsed.id, parsed.fileName))) {
    problem('must be the URL of a thumbnail you uploaded')
  }

  return raw
}

export interface Registration {
  email: string
  firstName: string
  lastName: string
  password: string
}

/** POST /users/register/: `email, first_name, last_name, password`. */
export function validateRegistration (body: unknown): Registration {
  const fields = collect(asBody(body, ['email', 'first_name', 'last_name', 'password']))

  const email = fields.required('email', normaliseEmail)
  const firstName = fields.required('first_name', normaliseName)
  const lastName = fields.required('last_name', normaliseName)
  const password = fields.required('password', checkPassword)
  fields.finish()

  return { email: email!, firstName: firstName!, lastName: lastName!, password: password! }
}

/**
 * POST /users/login/. The password is only bounded (1–72 bytes), not held to today's rules,
 * so that a later change of policy never locks out an existing account.
 */
export function validateLogin (body: unknown): { email: string, password: string } {
  const fields = collect(asBody(body, ['email', 'password']))

  const email = fields.required('email', normaliseEmail)
  const password = fields.required('password', (value) => {
    if (value === '') problem('must be provided')
    if (Buffer.byteLength(value, 'utf8') > PASSWORD_MAX_BYTES) {
      problem(`must not be more than ${PASSWORD_MAX_BYTES} bytes long`)
    }
    return value
  })
  fields.finish()

  return { email: email!, password: password! }
}

/** POST /users/regenerate-token/ and /users/password/request-password-change/: `email`. */
export function validateEmailRequest (body: unknown): { email: string } {
  const fields = collect(asBody(body, ['email']))

  const email = fields.required('email', normaliseEmail)
  fields.finish()

  return { email: email! }
}

/** PUT /users/activate/:id/: `token`. */
export function validateActivation (body: unknown): { token: string } {
  const fields = collect(asBody(body, ['token']))

  const token = fields.required('token', normaliseToken)
  fields.finish()

  return { token: token! }
}

/** PUT /users/password/change-user-password/:id/: `token, password`. */
export function validatePasswordReset (body: unknown): { token: string, password: string } {
  const fields = collect(asBody(body, ['token', 'password']))

  const token = fields.required('token', normaliseToken)
  const password = fields.required('password', checkPassword)
  fields.finish()

  return { token: token!, password: password! }
}

export interface UpdateOptions {
  /** The signed-in user: a thumbnail must be an object the media service stored for this id. */
  userId: string
  /** Where the media service's objects are served, as it issued their URLs. */
  media: { publicUrl: string, keyPrefix: string, secret?: string }
  /** Region for numbers written without `+<country code>`; without one they are refused. */
  phoneRegion?: CountryCode
  /** The current time, for "not in the future"; defaults to now. */
  now?: Date
}

const NAME_KEYS = ['first_name', 'last_name'] as const
const NULLABLE_KEYS = ['thumbnail', 'phone_number', 'birth_date', 'github_link'] as const

/**
 * PATCH /users/update-user/. Absent keys stay unchanged; `null` or `""` clears a nullable
 * field; names cannot be cleared. Returns the normalised patch, or throws one 422 naming every
 * bad field.
 */
export function validateUpdate (body: unknown, options: UpdateOptions): UserPatch {
  const input = asBody(body, [...NAME_KEYS, ...NULLABLE_KEYS])
  const fields = collect(input)
  const patch: UserPatch = {}

  for (const key of NAME_KEYS) {
    const value = input[key]
    if (value === undefined) continue
    if (value !== null && typeof value !== 'string') wrongType(key, 'a string')

    const name = fields.run(key, value ?? '', normaliseName)
    if (name !== undefined) patch[key] = name
  }

  const checks: Record<typeof NULLABLE_KEYS[number], (value: string) => string> = {
    thumbnail: (value) => checkThumbnail(value, options),
    phone_number: (value) => normalisePhone(value, options.phoneRegion),
    birth_date: (value) => checkBirthDate(value, options.now),
    github_link: normaliseGithubLink
  }
  for (const key of NULLABLE_KEYS) {
    const value = input[key]
    if (value === undefined) continue
    if (value !== null && typeof value !== 'string') wrongType(key, 'a string or null')

    const normalised = value === null || value === '' ? null : fields.run(key, value, checks[key])
    if (normalised !== undefined) patch[key] = normalised
  }
  fields.finish()

  return patch
}

export interface SuperuserFields {
  email: string
  password: string
  firstName?: string
  lastName?: string
}

type SuperuserInput = Partial<Record<keyof SuperuserFields, unknown>>

/** Input of the create-superuser command, held to the registration rules; names optional. */
export function validateSuperuser (input: SuperuserInput): SuperuserFields {
  const fields = collect({})
  const text = (key: string, value: unknown, needed: boolean) => {
    if (typeof value === 'string') return value
    if (value !== undefined) fields.problems[key] = 'must be text'
    else if (needed) fields.problems[key] = 'must be provided'
    return undefined
  }
  const run = <T>(key: string, value: string | undefined, check: (value: string) => T) =>
    value === undefined ? undefined : fields.run(key, value, check)

  const email = run('email', text('email', input.email, true), normaliseEmail)
  const password = run('password', text('password', input.password, true), checkPassword)
  const firstName = run('first_name', text('first_name', input.firstName, false), normaliseName)
  const lastName = run('last_name', text('last_name', input.lastName, false), normaliseName)
  fields.finish()

  return { email: email!, password: password!, firstName, lastName }
}
