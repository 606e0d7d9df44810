import createError from '@fastify/error'

export const GuardErrors = {
  Forbidden: createError('GUARD_FORBIDDEN', 'your user account does not have the necessary permissions to access this resource', 403)
}

export const guardErrorDocs: Record<string, string> = {
  GUARD_FORBIDDEN: 'Signed in, but the account lacks the permission the route needs (for instance superuser).'
}
