import { describe, expect, it } from 'vitest'
import { newRunId, redisSuiteMode, testRunId, uniqueName } from '../src/index.js'

describe('redisSuiteMode', () => {
  it('runs Redis suites when REDIS_URL is set', () => {
    expect(redisSuiteMode({ REDIS_URL: 'redis://127.0.0.1:6379' })).toBe('run')
    expect(redisSuiteMode({ REDIS_URL: 'redis://127.0.0.1:6379', CI: 'true' })).toBe('run')
  })

  it('skips them on a machine without REDIS_URL', () => {
    expect(redisSuiteMode({})).toBe('skip')
    expect(redisSuiteMode({ REDIS_URL: '' })).toBe('skip')
    expect(redisSuiteMode({ CI: 'false' })).toBe('skip')
  })

  it('fails them in CI without REDIS_URL rather than skip', () => {
    expect(redisSuiteMode({ CI: 'true' })).toBe('fail')
    expect(redisSuiteMode({ CI: '1' })).toBe('fail')
  })
})

describe('names', () => {
  it('newRunId gives 8 lowercase letters or digits, different each time', () => {
    const ids = new Set(Array.from({ length: 50 }, () => newRunId()))
    expect(ids.size).toBe(50)
    for (const id of ids) expect(id).toMatch(/^[a-z0-9]{8}$/)
  })

  it('uniqueName carries the run id and a cleaned label', () => {
    expect(uniqueName('Media Upload-Tests!')).toMatch(new RegExp(`^${testRunId()}_media_upload_tests_[0-9a-f]{8}$`))
    expect(uniqueName('../../etc')).toMatch(new RegExp(`^${testRunId()}_etc_[0-9a-f]{8}$`))
    expect(uniqueName('***')).toMatch(new RegExp(`^${testRunId()}_test_[0-9a-f]{8}$`))
    expect(uniqueName()).toMatch(new RegExp(`^${testRunId()}_env_[0-9a-f]{8}$`))
  })

  it('uniqueName stays a valid Postgres identifier for long labels', () => {
    const name = `t_${uniqueName('x'.repeat(200))}`
    expect(name.length).toBeLessThanOrEqual(63)
    expect(name).toMatch(/^[a-z_][a-z0-9_]*$/)
  })
})
