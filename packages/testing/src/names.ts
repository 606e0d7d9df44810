import { randomBytes } from 'node:crypto'
import { basename } from 'node:path'
import { expect } from 'vitest'
import { testRunId } from './env.js'

function slug (text: string, max: number): string {
  return text.toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_+|_+$/g, '').slice(0, max)
}

function currentTestFile (): string | undefined {
  try {
    const path = expect.getState().testPath
    return path ? basename(path).replace(/\.test\.[cm]?[jt]s$/, '') : undefined
  } catch {
    return undefined
  }
}

/**
 * A name unique to this run and call: `<run>_<label>_<random>`, lowercase letters, digits and
 * underscores only, so it is a valid unquoted SQL identifier and a safe Redis key segment.
 * The label defaults to the current test file's name, which tells where a leftover came from.
 */
export function uniqueName (label?: string): string {
  const part = slug(label ?? currentTestFile() ?? 'test', 24) || 'test'
  const random = randomBytes(4).toString('hex')

  return `${testRunId()}_${part}_${random}`
}
