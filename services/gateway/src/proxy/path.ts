// eslint-disable-next-line no-control-regex -- control characters are exactly what it looks for
const control = /[\u0000-\u001f\u007f]/

/**
 * Whether a request target may be forwarded as is. The router matched it by prefix, but an
 * upstream or URL parser that resolves dot segments, empty segments or encoded slashes could read
 * `/users/%2e%2e/file/x` as another service's path, so such targets are refused rather than
 * normalised. Only the origin form (`/path?query`) is accepted: the absolute form would carry its
 * own host.
 */
export function isForwardablePath (target: string): boolean {
  if (!target.startsWith('/')) return false
  const path = target.split('?', 1)[0]!
  if (path.includes('\\') || path.includes('#') || control.test(path)) return false

  const segments = path.slice(1).split('/')
  return segments.every((segment, i) => {
    if (segment === '') return i === segments.length - 1

    let decoded: string
    try {
      decoded = decodeURIComponent(segment)
    } catch {
      return false
    }
    return decoded !== '.' && decoded !== '..' && !/[/\\]/.test(decoded) && !control.test(decoded)
  })
}
