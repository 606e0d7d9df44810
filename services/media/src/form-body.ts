import type { FastifyInstance } from 'fastify'
import { HttpErrors } from '@tessera/http'

export const FORM_BODY_LIMIT = 16 * 1024

/**
 * `application/x-www-form-urlencoded` for this scope: the body becomes an object of strings that
 * the route's schema then checks like JSON. A key given twice is refused rather than guessed at;
 * the object has no prototype, so `__proto__` is just an unknown key.
 */
export function addFormBodyParser (scope: FastifyInstance, bodyLimit = FORM_BODY_LIMIT): void {
  scope.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit },
    (_request, body, done) => {
      const fields: Record<string, string> = Object.create(null)

      for (const [key, value] of new URLSearchParams(body as string)) {
        if (key in fields) {
          return done(new HttpErrors.BadRequest(`body contains "${key.slice(0, 100)}" more than once`), undefined)
        }
        fields[key] = value
      }

      done(null, fields)
    })
}
