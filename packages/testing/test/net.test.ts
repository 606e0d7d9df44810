import { createServer as createHttpServer, type Server as HttpServer } from 'node:http'
import { createServer, type Server } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { getFreePort, waitForPort, waitForUrl } from '../src/index.js'

const servers: Array<Server | HttpServer> = []

function listen<T extends Server | HttpServer> (server: T, port: number): Promise<T> {
  servers.push(server)
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, '127.0.0.1', () => resolve(server))
  })
}

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))))
})

describe('getFreePort', () => {
  it('returns a port that can be listened on', async () => {
    const port = await getFreePort()
    expect(port).toBeGreaterThan(0)
    expect(port).toBeLessThan(65536)

    const server = await listen(createServer(), port)
    expect((server.address() as { port: number }).port).toBe(port)
  })

  it('does not return a port that is taken', async () => {
    const taken = await listen(createServer(), 0)
    const takenPort = (taken.address() as { port: number }).port

    const ports = await Promise.all(Array.from({ length: 20 }, () => getFreePort()))
    expect(ports).not.toContain(takenPort)
  })
})

describe('waitForPort', () => {
  it('resolves once a server starts listening', async () => {
    const port = await getFreePort()
    const waiting = waitForPort(port, { timeoutMs: 5000, intervalMs: 20 })
    setTimeout(() => { listen(createServer(), port) }, 100)

    await expect(waiting).resolves.toBeUndefined()
  })

  it('rejects with the address when nothing answers in time', async () => {
    const port = await getFreePort()
    await expect(waitForPort(port, { timeoutMs: 200, intervalMs: 20 }))
      .rejects.toThrow(`127.0.0.1:${port} did not answer within 200 ms`)
  })
})

describe('waitForUrl', () => {
  it('resolves with the status of the first answer', async () => {
    const server = await listen(createHttpServer((_req, res) => {
      res.statusCode = 204
      res.end()
    }), 0)
    const port = (server.address() as { port: number }).port

    expect(await waitForUrl(`http://127.0.0.1:${port}/readyz`)).toBe(204)
  })

  it('keeps waiting until ok() accepts the status', async () => {
    let calls = 0
    const server = await listen(createHttpServer((_req, res) => {
      calls += 1
      res.statusCode = calls < 3 ? 503 : 200
      res.end()
    }), 0)
    const port = (server.address() as { port: number }).port

    const status = await waitForUrl(`http://127.0.0.1:${port}/`, {
      intervalMs: 10,
      ok: (code) => code === 200
    })
    expect(status).toBe(200)
    expect(calls).toBe(3)
  })

  it('rejects when nothing answers in time', async () => {
    const port = await getFreePort()
    const url = `http://127.0.0.1:${port}/`
    await expect(waitForUrl(url, { timeoutMs: 200, intervalMs: 20 }))
      .rejects.toThrow(`${url} did not answer within 200 ms`)
  })
})
