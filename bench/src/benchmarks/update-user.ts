import { availableParallelism } from 'node:os'
import pg from 'pg'
import { sql } from '@tessera/profile/sql'
import { createAccounts, logInAll } from '../accounts.js'
import type { Benchmark } from '../context.js'
import { figure } from '../figures.js'
import { runLoad } from '../load.js'
import {
  cpuBound, describeBound, describeCpu, describePer, pooledPer, type CpuUse
} from '../proc-stats.js'
import { alternate, metered } from '../rounds.js'
import { median, round, spread } from '../stats.js'

const CONNECTIONS = 20
/** Users per connection: requests rotate over them, so two transactions rarely wait on one row. */
const USERS_PER_CONNECTION = 2
const SECONDS = 3
const ROUNDS = 5
const WARMUP_SECONDS = 2

const PATCH = {
  first_name: 'Bench',
  phone_number: '+16502530000',
  birth_date: '1990-01-02',
  github_link: 'https://github.com/bench'
}

/**
 * The raw ceiling: the same transaction from `workers` loops on `pool`, for `seconds`. The pool is
 * the caller's and stays open: its backends' CPU must still be there to be read after the run.
 */
async function rawLoop (pool: pg.Pool, ids: string[], workers: number, seconds: number) {
  let next = 0
  let done = 0

  const transaction = async () => {
    const id = ids[next++ % ids.length]!
    const client = await pool.connect()
    try {
      await client.query('BEGIN')
      await client.query({
        name: 'profile.users.update-user',
        text: sql.updateUser,
        values: [id, PATCH.first_name, null, false, null]
      })
      await client.query({
        name: 'profile.users.update-profile',
        text: sql.updateProfile,
        values: [id, true, PATCH.phone_number, true, PATCH.birth_date, true, PATCH.github_link]
      })
      await client.query({
        name: 'profile.users.find-by-id', text: sql.findById, values: [id]
      })
      await client.query('COMMIT')
    } finally {
      client.release()
    }
  }

  const startedAt = performance.now()
  const deadline = startedAt + seconds * 1000
  await Promise.all(Array.from({ length: workers }, async () => {
    while (performance.now() < deadline) {
      await transaction()
      done++
    }
  }))
  return { rps: done / ((performance.now() - startedAt) / 1000), responses: done }
}

type Run = { rps: number, responses: number, cpu: CpuUse }

/** Issue figure 2: PATCH /users/update-user/ vs the same statements from a bare pg loop. */
export const updateUser: Benchmark = {
  name: 'update-user',
  summary: 'PATCH /users/update-user/ straight to profile vs its statements from a bare pg loop',

  async run ({ system, log }) {
    const sys = await system()
    const users = CONNECTIONS * USERS_PER_CONNECTION
    const accounts = await createAccounts(sys.database.url, users, sys.argon2)
    const signedIn = await logInAll(sys.profile.url, accounts)
    const ids = signedIn.map((account) => account.id)
    const pids = sys.processes('profile')

    let turn = 0
    const http = (seconds: number) => metered(pids, () => runLoad({
      url: sys.profile.url,
      method: 'PATCH',
      path: '/users/update-user/',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(PATCH),
      headersFor: () => ({ cookie: signedIn[turn++ % signedIn.length]!.cookie }),
      connections: CONNECTIONS,
      durationSeconds: seconds
    }), sys.database.name)
    const pool = new pg.Pool({ connectionString: sys.database.url, max: sys.poolMax })
    pool.on('error', () => {})
    const raw = (seconds: number) =>
      metered(pids, () => rawLoop(pool, ids, CONNECTIONS, seconds), sys.database.name)

    let runs: Record<string, Run[]>
    try {
      log('update-user: warming up')
      await http(WARMUP_SECONDS)
      await raw(WARMUP_SECONDS)

      log(`update-user: ${ROUNDS} rounds of ${SECONDS} s each way`)
      runs = await alternate<Run>(ROUNDS, { raw: () => raw(SECONDS), http: () => http(SECONDS) })
    } finally {
      await pool.end()
    }
    const ratios = runs.http!.map((run, i) => run.rps / runs.raw![i]!.rps)
    const ratio = median(ratios)
    const httpRps = median(runs.http!.map((run) => run.rps))
    const rawRps = median(runs.raw!.map((run) => run.rps))

    const { use: useHttp, per: perHttp } = pooledPer(runs.http!)
    const { use: useRaw, per: perRaw } = pooledPer(runs.raw!)
    const us = (value: number | undefined) => `${Math.round(value ?? 0)} µs`
    const notes = [
      `${CONNECTIONS} connections over ${ids.length} signed-in users, pool of ${sys.poolMax} on ` +
        `both sides, ${ROUNDS} alternating rounds of ${SECONDS} s; median round's ratio (rounds: ` +
        `${spread(ratios)}). HTTP ${round(httpRps)} req/s, raw ${round(rawRps)} transactions/s.`,
      'Each request: session lookup, validation (the phone number through libphonenumber), ' +
        'BEGIN, two UPDATEs, the SELECT of the user, COMMIT; the raw loop sends the same five ' +
        'statements under the same prepared-statement names, without HTTP, sessions or validation.',
      `CPU over the rounds, HTTP: ${describeCpu(useHttp)}; raw: ${describeCpu(useRaw)}.`,
      `CPU per request: ${describePer(perHttp)}; per raw transaction: ${describePer(perRaw)}.`
    ]
    if (ratio < 0.6) {
      const cores = availableParallelism()
      const boundHttp = cpuBound(perHttp, cores)
      const busyRaw = useRaw.machineBusy / useRaw.machineTotal
      notes.push(`Limit: over HTTP, CPU: ${us(perHttp.run)} per request in all caps it at ` +
        `${describeBound(boundHttp, cores)}, against ${round(httpRps)} req/s measured. The raw ` +
        `loop costs ${us(perRaw.run)} per transaction and ` +
        (busyRaw < 0.95
          ? `left the machine ${Math.round(100 * busyRaw)}% busy: it waits on Postgres (locks, ` +
            'commits), not on CPU, so only a cheaper request raises the ratio.'
          : `kept the machine ${Math.round(100 * busyRaw)}% busy.`))
    }

    return {
      figures: [
        figure('update-user: HTTP/raw pg throughput', ratio, 'ratio', { op: '>=', value: 0.6 }),
        figure('update-user: raw pg ceiling', rawRps, 'tx/s')
      ],
      notes
    }
  }
}
