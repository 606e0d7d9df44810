import { afterAll, beforeAll } from 'vitest'
import { startStack, type Stack, type StackOptions } from '../src/index.js'

/** A stack for the file (or describe block), started before its tests and closed after them. */
export function useStack (options: StackOptions = {}): () => Stack {
  let stack: Stack | undefined

  beforeAll(async () => {
    stack = await startStack(options)
  })

  afterAll(async () => {
    await stack?.close()
  })

  return () => {
    if (stack === undefined) throw new Error('the stack exists only once beforeAll has run')
    return stack
  }
}

/** Every row of both tables, as stored. */
export async function rows (stack: Stack) {
  const users = await stack.db.pool.query(`SELECT id, email, password_hash, first_name, last_name, is_active,
    is_staff, is_superuser, thumbnail FROM users ORDER BY email`)
  const profiles = await stack.db.pool.query(`SELECT id, user_id, phone_number, github_link,
    to_char(birth_date, 'YYYY-MM-DD') AS birth_date FROM user_profile ORDER BY user_id`)
  return { users: users.rows, profiles: profiles.rows }
}

/**
 * Everything a request could have changed: the rows, the Redis keys of the stack with their
 * values, every object and every incomplete multipart upload. Rate-limit counters are left out:
 * they count every request, refused ones too, by design.
 */
export async function state (stack: Stack) {
  const keys = await stack.redis.keys()
  const values: Record<string, unknown> = {}
  for (const key of keys) {
    if (key.startsWith('rate-limit:')) continue
    const type = await stack.redis.client.type(key)
    values[key] = type === 'string'
      ? await stack.redis.client.get(key)
      : type === 'set' ? (await stack.redis.client.smembers(key)).sort() : await stack.redis.client.hgetall(key)
  }
  return {
    ...await rows(stack),
    redis: values,
    objects: await stack.s3.listObjects(),
    uploads: await stack.s3.listMultipartUploads()
  }
}

export const JSON_TYPE = 'application/json; charset=utf-8'

export const INTERNAL = {
  error: 'the server encountered a problem and could not process your request',
  code: 'HTTP_INTERNAL'
}
export const STORAGE_FAILED = { error: INTERNAL.error, code: 'MEDIA_STORAGE_FAILED' }
export const SESSIONS_UNAVAILABLE = { error: 'sessions are temporarily unavailable', code: 'SESSION_STORE_UNAVAILABLE' }
export const UNAVAILABLE = { error: 'the service is temporarily unavailable', code: 'HTTP_UNAVAILABLE' }
export const UPSTREAM_UNAVAILABLE = {
  error: 'the service is temporarily unavailable, please try again later',
  code: 'GATEWAY_UPSTREAM_UNAVAILABLE'
}
export const UPSTREAM_TIMEOUT = { error: 'the service did not respond in time', code: 'GATEWAY_UPSTREAM_TIMEOUT' }
export const BAD_GATEWAY = { error: 'the service sent an invalid response', code: 'GATEWAY_BAD_GATEWAY' }
export const SESSION_REQUIRED = { error: 'you must be authenticated to access this resource', code: 'SESSION_REQUIRED' }
export const FORBIDDEN = {
  error: 'your user account does not have the necessary permissions to access this resource',
  code: 'GUARD_FORBIDDEN'
}
