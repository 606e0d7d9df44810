import { randomBytes } from 'node:crypto'

/** A short random id, 8 lowercase letters and digits, that names a test run. */
export function newRunId (): string {
  return randomBytes(6).readUIntBE(0, 6).toString(36).padStart(8, '0').slice(-8)
}
