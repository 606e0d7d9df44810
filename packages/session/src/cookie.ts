export const SESSION_COOKIE = 'sessionid'

export interface CookieSettings {
  maxAge: number
  secure: boolean
}

/**
 * The session cookie with its attributes in the exact order the frontend parses:
 * `sessionid=<id>; Path=/; Max-Age=<s>; HttpOnly; Secure; SameSite=Lax`.
 */
export function sessionCookie (id: string, { maxAge, secure }: CookieSettings): string {
  const parts = [`${SESSION_COOKIE}=${id}`, 'Path=/', `Max-Age=${maxAge}`, 'HttpOnly']
  if (secure) parts.push('Secure')
  parts.push('SameSite=Lax')
  return parts.join('; ')
}

/** Clears the cookie: same attributes, empty value, `Max-Age=0`. */
export function clearedSessionCookie (secure: boolean): string {
  return sessionCookie('', { maxAge: 0, secure })
}

/**
 * Every `sessionid` value in a Cookie header. More than one means the request is ambiguous
 * (for instance a cookie planted for a parent domain), and is treated as no session.
 */
export function sessionIdsIn (header: string | undefined): string[] {
  // Node refuses request headers over 16 KiB in all, so a longer Cookie header cannot be genuine.
  if (header === undefined || header.length > 16_384) return []
  const ids: string[] = []
  for (const pair of header.split(';')) {
    const eq = pair.indexOf('=')
    if (eq === -1) continue
    if (pair.slice(0, eq).trim() === SESSION_COOKIE) ids.push(pair.slice(eq + 1).trim())
  }
  return ids
}
