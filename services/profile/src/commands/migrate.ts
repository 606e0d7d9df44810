import { runMigrations } from '../data/migrate.js'

// `pnpm migrate`: applies pending migrations to DATABASE_URL and lists what it applied.
async function main (): Promise<number> {
  const connectionString = process.env.DATABASE_URL
  if (!connectionString) {
    process.stderr.write('migrate: DATABASE_URL is not set\n')
    return 2
  }

  const applied = await runMigrations({ connectionString })
  process.stdout.write(applied.length === 0
    ? 'migrate: the database is up to date\n'
    : `migrate: applied ${applied.join(', ')}\n`)
  return 0
}

main().then((code) => { process.exitCode = code }, (err: unknown) => {
  const reason = err instanceof Error ? err.message : String(err)
  process.stderr.write(`migrate: failed: ${reason}\n`)
  process.exitCode = 1
})
