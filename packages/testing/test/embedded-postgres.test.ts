import { access } from 'node:fs/promises'
import { createServer, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { describe, expect, it } from 'vitest'
import { newRunId, startEmbeddedPostgres } from '../src/index.js'

describe('startEmbeddedPostgres', () => {
  it('runs a private server on 127.0.0.1 and removes its data when stopped', async () => {
    const server = await startEmbeddedPostgres()

    try {
      expect(server.url).toBe(`postgres://postgres:tessera@127.0.0.1:${server.port}/postgres`)
      expect(server.dataDir.startsWith(tmpdir())).toBe(true)
      await expect(access(server.dataDir)).resolves.toBeUndefined()

      const client = new pg.Client({ connectionString: server.url })
      await client.connect()
      try {
        const { rows } = await client.query(
          "SELECT current_setting('fsync') AS fsync, current_setting('server_version_num')::int / 10000 AS major")
        expect(rows).toEqual([{ fsync: 'off', major: 17 }])
      } finally {
        await client.end()
      }
    } finally {
      await server.stop()
    }

    await server.stop()
    await expect(access(server.dataDir)).rejects.toThrow(/ENOENT/)
    await expect(new pg.Client({ connectionString: server.url }).connect()).rejects.toThrow(/ECONNREFUSED/)
  })
})

describe('startEmbeddedPostgres on a taken port', () => {
  it('fails with the server log and leaves no data directory', async () => {
    const blocker = createServer()
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve))
    const port = (blocker.address() as AddressInfo).port
    const dataDir = join(tmpdir(), `tessera-pg-taken-${newRunId()}`)

    try {
      await expect(startEmbeddedPostgres({ port, dataDir }))
        .rejects.toThrow(/did not start[\s\S]*Address already in use/)
      await expect(access(dataDir)).rejects.toThrow(/ENOENT/)
    } finally {
      await new Promise((resolve) => blocker.close(resolve))
    }
  })
})
