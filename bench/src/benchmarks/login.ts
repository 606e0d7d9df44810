import { availableParallelism } from 'node:os'
import { verify } from '@node-rs/argon2'
import { createAccounts, hashPassword } from '../accounts.js'
import type { Benchmark } from '../context.js'
import { figure } from '../figures.js'
import { runLoad } from '../load.js'
import { describeCpu } from '../proc-stats.js'
import { metered } from '../rounds.js'
import { median, round } from '../stats.js'

const CLIENTS = 50
const SECONDS = 8
const WARMUP_SECONDS = 2
const SEQUENTIAL_VERIFIES = 20
const CEILING_SECONDS = 4

/** How many argon2id checks per second this process manages with `parallel` in flight. */
async function verifyThroughput (hashed: string, password: string, parallel: number, seconds: number) {
  const deadline = performance.now() + seconds * 1000
  const startedAt = performance.now()
  let done = 0
  await Promise.all(Array.from({ length: parallel }, async () => {
    while (performance.now() < deadline) {
      await verify(hashed, password)
      done++
    }
  }))
  return done / ((performance.now() - startedAt) / 1000)
}

/** Issue figure 6: what one argon2id check costs here, and logins per second under 50 clients. */
export const login: Benchmark = {
  name: 'login',
  summary: 'argon2id cost per login, and logins/s through the gateway under 50 concurrent clients',

  async run ({ system, log }) {
    const sys = await system()
    const { memoryCost, timeCost, parallelism } = sys.argon2
    const accounts = await createAccounts(sys.database.url, CLIENTS, sys.argon2)
    const password = accounts[0]!.password

    log(`login: ${SEQUENTIAL_VERIFIES} argon2id checks one at a time`)
    const hashed = await hashPassword(password, sys.argon2)
    const times: number[] = []
    for (let i = 0; i < SEQUENTIAL_VERIFIES; i++) {
      const startedAt = performance.now()
      if (!await verify(hashed, password)) throw new Error('argon2 rejected its own hash')
      times.push(performance.now() - startedAt)
    }
    const cost = median(times)

    log(`login: argon2id ceiling, ${CLIENTS} checks in flight for ${CEILING_SECONDS} s`)
    const ceiling = await verifyThroughput(hashed, password, CLIENTS, CEILING_SECONDS)

    let turn = 0
    const pids = sys.processes('gateway', 'profile')
    const logins = (connections: number, seconds: number) => metered(pids, () => runLoad({
      url: sys.gateway.url,
      method: 'POST',
      path: '/users/login/',
      headers: { 'content-type': 'application/json' },
      // One account per request in turn: the per-address counters stay apart, as for real users.
      bodyFor: () => JSON.stringify({ email: accounts[turn++ % accounts.length]!.email, password }),
      connections,
      durationSeconds: seconds
    }), sys.database.name)

    log('login: one client')
    await logins(1, WARMUP_SECONDS)
    const single = await logins(1, SECONDS / 2)
    log(`login: ${CLIENTS} clients for ${SECONDS} s`)
    const many = await logins(CLIENTS, SECONDS)

    const threadpool = Number(process.env.UV_THREADPOOL_SIZE ?? 4)
    const ms = (value: number) => `${round(value)} ms`
    const notes = [
      `argon2id m=${memoryCost} KiB, t=${timeCost}, p=${parallelism} (the profile service's ` +
        'ARGON2_* settings; security sets them, so no target): median of ' +
        `${SEQUENTIAL_VERIFIES} checks one at a time in this process.`,
      `Ceiling: ${round(ceiling)} checks/s with ${CLIENTS} in flight in this process (libuv's ` +
        `pool of ${threadpool} threads on ${availableParallelism()} cores). Logins reach ` +
        `${round(many.rps / ceiling, 2)} of it.`,
      `${CLIENTS} clients through the gateway, rate limits raised for the run through the ` +
        'environment (gateway LOGIN_RATE_LIMIT, profile RATE_LIMIT_LOGIN_MAX), each request the ' +
        `next of ${accounts.length} accounts: p50 ${ms(many.p50)}, p99 ${ms(many.p99)}.`,
      `One client: ${round(single.rps)} logins/s, p50 ${ms(single.p50)} (argon2 ${ms(cost)} of it).`,
      `CPU, ${CLIENTS} clients: ${describeCpu(many.cpu)}.`
    ]

    return {
      figures: [
        figure(`login: argon2id cost (m=${memoryCost} KiB, t=${timeCost})`, cost, 'ms'),
        figure(`login: logins/s, ${CLIENTS} clients via gateway`, many.rps, 'logins/s'),
        figure('login: logins/s over argon2 ceiling', many.rps / ceiling, 'ratio')
      ],
      notes
    }
  }
}
