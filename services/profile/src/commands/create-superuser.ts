import { parseArgs } from 'node:util'
import { ValidationFailedError } from '@tessera/http'
import { createSuperuser } from './superuser.js'

const USAGE = 'usage: create-superuser [--email <address>] [--password <password>] ' +
  '[--first-name <name>] [--last-name <name>]\n' +
  '  (or ADMIN_EMAIL and ADMIN_PASSWORD; the environment keeps the password out of `ps`)'

// `pnpm create-superuser`: one line on stdout on success; otherwise stderr and a non-zero exit.
async function main (): Promise<number> {
  let values: Record<string, string | undefined>
  try {
    values = parseArgs({
      options: {
        email: { type: 'string' },
        password: { type: 'string' },
        'first-name': { type: 'string' },
        'last-name': { type: 'string' }
      },
      strict: true,
      allowPositionals: false
    }).values
  } catch (err) {
    process.stderr.write(`create-superuser: ${(err as Error).message}\n${USAGE}\n`)
    return 2
  }

  const databaseUrl = process.env.DATABASE_URL
  if (!databaseUrl) {
    process.stderr.write('create-superuser: DATABASE_URL is not set\n')
    return 2
  }

  try {
    const { user, created } = await createSuperuser({
      databaseUrl,
      email: values.email ?? process.env.ADMIN_EMAIL,
      password: values.password ?? process.env.ADMIN_PASSWORD,
      firstName: values['first-name'],
      lastName: values['last-name']
    })
    const done = created ? 'created' : 'updated'
    process.stdout.write(`create-superuser: ${done} superuser ${user.email} (${user.id})\n`)
    return 0
  } catch (err) {
    if (!(err instanceof ValidationFailedError)) throw err
    const reasons = Object.entries(err.fields).map(([field, message]) => `${field} ${message}`)
    process.stderr.write(`create-superuser: ${reasons.join('; ')}\n`)
    return 2
  }
}

main().then((code) => { process.exitCode = code }, (err: unknown) => {
  const reason = err instanceof Error ? err.message : String(err)
  process.stderr.write(`create-superuser: failed: ${reason}\n`)
  process.exitCode = 1
})
