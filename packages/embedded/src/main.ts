import { fileURLToPath } from 'node:url'
import closeWithGrace from 'close-with-grace'
import { startStack } from './stack.js'

const dataDir = process.env.TESSERA_DATA_DIR ?? fileURLToPath(new URL('../../../.data', import.meta.url))
const print = (line: string) => process.stdout.write(line + '\n')

print(`Tessera embedded stack: data in ${dataDir}`)
const stack = await startStack({ env: process.env, dataDir, print })

if (stack.admin.password !== undefined) {
  print(`\n  superuser ${stack.admin.email} created with password: ${stack.admin.password}`)
  print('  (printed once; set ADMIN_PASSWORD to choose it)')
} else {
  const state = stack.admin.created ? 'created' : 'already exists'
  print(`\n  superuser ${stack.admin.email} ${state}${stack.admin.passwordSet === true ? ', password from ADMIN_PASSWORD' : ''}`)
}
print('\nE-mails are written to the log (look for "mail"). Ctrl-C stops everything.\n')

closeWithGrace({ delay: 15_000 }, async ({ err }) => {
  if (err !== undefined) process.stderr.write(`stopping after an error: ${String(err)}\n`)
  await stack.close()
  print('Tessera stopped.')
})
