import { Writable } from 'node:stream'
import Fastify, { type FastifyBaseLogger } from 'fastify'
import pino from 'pino'
import { expect, it } from 'vitest'
import { httpConventions, loggerOptions, serverOptions } from '../src/index.js'

it('logs one JSON line per response with the request id, 5xx at error, and never secrets', async () => {
  const lines: Array<Record<string, unknown>> = []
  const sink = new Writable({
    write (chunk, _enc, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line))
      done()
    }
  })
  const logger = pino(loggerOptions({ level: 'info', service: 'svc' }), sink)
  const app = Fastify(serverOptions({ level: 'info', service: 'svc', loggerInstance: logger as FastifyBaseLogger }))
  await app.register(httpConventions)
  app.post('/fail/', { config: { operation: 'test.fail' } }, async (request) => {
    request.log.info({ headers: request.headers, password: 'hunter2' }, 'about to fail')
    throw new Error('db exploded')
  })
  await app.ready()

  const res = await app.inject({
    method: 'POST',
    url: '/fail/',
    payload: { password: 'hunter2' },
    headers: { cookie: 'sessionid=SECRETSECRET', authorization: 'Bearer TOKEN123', 'x-request-id': 'req-42' }
  })
  await app.close()

  expect(res.statusCode).toBe(500)
  const text = JSON.stringify(lines)
  expect(text).not.toContain('SECRETSECRET')
  expect(text).not.toContain('TOKEN123')
  expect(text).not.toContain('hunter2')
  for (const line of lines) expect(line).toMatchObject({ service: 'svc', reqId: 'req-42' })

  const failure = lines.find((l) => l.msg === 'request failed')
  expect(failure).toMatchObject({ level: 50, statusCode: 500 })
  expect((failure!.err as { message: string }).message).toBe('db exploded')
  const done = lines.find((l) => l.msg === 'request completed')
  expect(done).toMatchObject({ level: 50, operation: 'test.fail', method: 'POST', url: '/fail/', statusCode: 500 })
  expect(typeof done!.responseTime).toBe('number')
})
