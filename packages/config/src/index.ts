import { Type, type Static, type TObject, type TSchema } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'

export class ConfigError extends Error {
  readonly key: string

  constructor (key: string, reason: string) {
    super(`invalid configuration: ${key} ${reason}`)
    this.name = 'ConfigError'
    this.key = key
  }
}

/** Keys whose values are never echoed in an error. */
const SECRET_KEY = /(SECRET|PASSWORD|TOKEN)/

/**
 * Reads the keys of `schema` from `env`, applies defaults, converts strings to the declared types
 * and validates. Throws a ConfigError naming the first bad key; unknown env keys are ignored.
 */
export function loadConfig<T extends TObject> (schema: T, env: NodeJS.ProcessEnv = process.env): Static<T> {
  const raw: Record<string, unknown> = {}
  for (const key of Object.keys(schema.properties)) {
    const value = env[key]
    if (value !== undefined && value !== '') raw[key] = value
  }

  const value = Value.Convert(schema, Value.Default(schema, raw))
  const first = Value.Errors(schema, value).First()
  if (first === undefined) return value as Static<T>

  const key = first.path.split('/')[1] ?? '(root)'
  const shown = SECRET_KEY.test(key) ? '' : ` (got ${quote(raw[key])})`
  const reason = raw[key] === undefined ? 'is required' : `${describe(first.schema)}${shown}`
  throw new ConfigError(key, reason)
}

/** For `server.ts`: load or print one line naming the bad key and exit 1. */
export function loadConfigOrExit<T extends TObject> (schema: T, env: NodeJS.ProcessEnv = process.env): Static<T> {
  try {
    return loadConfig(schema, env)
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    process.stderr.write(err.message + '\n')
    process.exit(1)
  }
}

function describe (schema: TSchema): string {
  if (typeof schema.description === 'string') return `must be ${schema.description}`
  if (schema.type === 'integer' || schema.type === 'number') {
    const range = [schema.minimum, schema.maximum].every((n) => n !== undefined)
      ? ` between ${schema.minimum} and ${schema.maximum}`
      : ''
    return `must be ${schema.type === 'integer' ? 'an integer' : 'a number'}${range}`
  }
  if (schema.type === 'boolean') return 'must be true or false'
  if (Array.isArray(schema.anyOf)) {
    const options = schema.anyOf.map((s: TSchema) => s.const).filter((c: unknown) => c !== undefined)
    if (options.length > 0) return `must be one of ${options.join(', ')}`
  }
  if (typeof schema.pattern === 'string') return `must match ${schema.pattern}`
  if (typeof schema.minLength === 'number') return `must be at least ${schema.minLength} characters`
  return 'is malformed'
}

function quote (value: unknown): string {
  // A malformed URL may still carry credentials: never echo them.
  const text = String(value).replace(/\/\/[^/@\s]*@/, '//[redacted]@')
  return JSON.stringify(text.length > 40 ? text.slice(0, 40) + '…' : text)
}

const urlPattern = '^[a-zA-Z][a-zA-Z0-9+.-]*://[^\\s]+$'

/** Schema fragments shared by the services' config schemas. */
export const ConfigTypes = {
  Port: (def: number) => Type.Integer({ minimum: 0, maximum: 65535, default: def }),
  Url: (options: { default?: string } = {}) =>
    Type.String({ pattern: urlPattern, description: 'an absolute URL', ...options }),
  Millis: (def: number) => Type.Integer({ minimum: 1, maximum: 3_600_000, default: def }),
  Count: (def: number) => Type.Integer({ minimum: 1, maximum: 1_000_000, default: def }),
  Seconds: (def: number) => Type.Integer({ minimum: 1, maximum: 31_536_000, default: def }),
  /** A shared secret; its value is never echoed in an error. */
  Secret: () => Type.Optional(Type.String({ minLength: 32 })),
  Bool: (def: boolean) => Type.Boolean({ default: def }),
  /** Where clients fetch stored objects: `<url>/<key>`. Profile and media must agree on it. */
  PublicUrl: (def: string) => Type.String({
    pattern: '^https?://[^\\s/?#@]+(/[^\\s?#]*)?$',
    description: 'an http(s) URL without credentials, query or fragment',
    default: def
  }),
  /** An object key prefix: empty, or path segments each ending in `/`. */
  KeyPrefix: (def: string) => Type.String({
    default: def,
    maxLength: 256,
    pattern: '^([A-Za-z0-9._-]*[A-Za-z0-9_-][A-Za-z0-9._-]*/)*$',
    description: 'empty or segments of letters, digits, ".", "_" and "-", each ending in "/"'
  }),
  LogLevel: () => Type.Union(
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
    { default: 'info' }
  )
}

export { Type }
export type { Static }
