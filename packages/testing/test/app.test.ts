import fastify from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { appUrl, useTestApp } from '../src/index.js'

describe('useTestApp', () => {
  const events: string[] = []
  let accessBeforeBuild: unknown

  // Registered before the helper's hooks: its beforeAll runs first, its afterAll runs last
  beforeAll(() => {
    try {
      app()
    } catch (err) {
      accessBeforeBuild = err
    }
  })

  afterAll(() => {
    expect(events).toEqual(['build', 'plugin', 'close'])
  })

  const app = useTestApp(async () => {
    events.push('build')
    const instance = fastify()
    instance.register(async (scope) => {
      events.push('plugin')
      scope.get('/hello/', async () => ({ hello: 'world' }))
    })
    instance.addHook('onClose', async () => {
      events.push('close')
    })
    return instance
  })

  it('throws a clear error when used before beforeAll', () => {
    expect(accessBeforeBuild).toBeInstanceOf(Error)
    expect((accessBeforeBuild as Error).message).toBe('The test app exists only once beforeAll has run')
  })

  it('builds the app once and waits for its plugins', async () => {
    expect(events).toEqual(['build', 'plugin'])

    const response = await app().inject({ method: 'GET', url: '/hello/' })
    expect(response.statusCode).toBe(200)
    expect(response.json()).toEqual({ hello: 'world' })
    expect(app()).toBe(app())
  })
})

describe('useTestApp with listen', () => {
  let url = ''

  afterAll(async () => {
    // The helper has closed the app by now, so nothing answers on its port
    await expect(fetch(url)).rejects.toThrow()
  })

  const app = useTestApp(() => {
    const instance = fastify()
    instance.get('/ping/', async () => 'pong')
    return instance
  }, { listen: true })

  it('serves over a real socket on 127.0.0.1', async () => {
    url = `${appUrl(app())}/ping/`
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/ping\/$/)

    const response = await fetch(url)
    expect(response.status).toBe(200)
    expect(await response.text()).toBe('pong')
  })
})

describe('appUrl', () => {
  it('refuses an app that does not listen', async () => {
    const app = fastify()
    await app.ready()

    try {
      expect(() => appUrl(app)).toThrow('The app does not listen on a TCP port')
    } finally {
      await app.close()
    }
  })
})
