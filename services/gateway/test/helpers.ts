import type { FastifyInstance } from 'fastify'
import { loadConfig } from '@tessera/config'
import { appUrl } from '@tessera/testing'
import { buildApp, GatewayConfigSchema, type GatewayDeps } from '../src/app.js'

/** A gateway config for tests: quiet, no Prometheus port clash, cookies over plain http. */
export function testConfig (env: Record<string, string>) {
  return loadConfig(GatewayConfigSchema, { METRICS_PORT: '0', LOG_LEVEL: 'silent', COOKIE_SECURE: 'false', ...env })
}

export interface RunningGateway {
  app: FastifyInstance
  url: string
  close (): Promise<void>
}

/** Builds the gateway and listens on an ephemeral port of 127.0.0.1. */
export async function startGateway (env: Record<string, string>, deps: GatewayDeps = {}): Promise<RunningGateway> {
  const app = await buildApp(testConfig(env), { logger: false, ...deps })
  await app.listen({ port: 0, host: '127.0.0.1' })
  return { app, url: appUrl(app), close: async () => { await app.close() } }
}

export const JSON_TYPE = 'application/json; charset=utf-8'
