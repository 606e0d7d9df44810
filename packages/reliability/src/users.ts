import { createSuperuser } from '@tessera/profile/superuser'
import { hashSessionId } from '@tessera/session'
import { cookieOf, createClient, type Client } from './client.js'
import { codeOf, type LogSink } from './logs.js'
import type { Stack } from './stack.js'
import { eventually } from './wait.js'

export interface TestUser {
  id: string
  email: string
  password: string
}

export interface SignedInUser extends TestUser {
  /** `sessionid=<id>`, for a Cookie header. */
  cookie: string
  sessionId: string
}

export const PASSWORD = 'correct horse battery'

/** A profile service: the one of a stack, or one running as a process. */
export type ProfileService = Stack | { url: string, logs: LogSink }

const profileUrlOf = (service: ProfileService) => 'urls' in service ? service.urls.profile : service.url

/** The one e-mail to `address` the profile service has logged so far. */
export function onlyMailTo (service: ProfileService, address: string) {
  const mails = service.logs.takeMails(address)
  if (mails.length !== 1) throw new Error(`expected one e-mail to ${address}, got ${mails.length}`)
  return mails[0]!
}

/** Registers and activates an account through the profile service's own API (not the gateway). */
export async function activeUser (service: ProfileService, email: string, password = PASSWORD): Promise<TestUser> {
  const profile = createClient(profileUrlOf(service))
  try {
    const registered = await profile.send('POST', '/users/register/', {
      json: { email, first_name: 'Ada', last_name: 'Lovelace', password }
    })
    if (registered.status !== 202) throw new Error(`register ${email}: ${registered.status} ${registered.text}`)

    const { code, id } = await eventually(async () => codeOf(onlyMailTo(service, email)), 5000)
    const activated = await profile.send('PUT', `/users/activate/${id}/`, { json: { token: code } })
    if (activated.status !== 200) throw new Error(`activate ${email}: ${activated.status} ${activated.text}`)
    return { id, email, password }
  } finally {
    await profile.close()
  }
}

/** Logs in through `client` and returns the session cookie. */
export async function logIn (client: Client, user: TestUser): Promise<SignedInUser> {
  const answer = await client.send('POST', '/users/login/', { json: { email: user.email, password: user.password } })
  if (answer.status !== 200) throw new Error(`login ${user.email}: ${answer.status} ${answer.text}`)
  const cookie = cookieOf(answer)
  return { ...user, cookie, sessionId: cookie.slice('sessionid='.length) }
}

/** An active account with a session, logged in through the gateway. */
export async function signedInUser (stack: Stack, email: string): Promise<SignedInUser> {
  const user = await activeUser(stack, email)
  const gateway = createClient(stack.urls.gateway)
  try {
    return await logIn(gateway, user)
  } finally {
    await gateway.close()
  }
}

/** A superuser made by the create-superuser command's code, logged in through the gateway. */
export async function signedInSuperuser (stack: Stack, email: string): Promise<SignedInUser> {
  const { user } = await createSuperuser({
    pool: stack.db.pool,
    email,
    password: PASSWORD,
    argon2: { memoryCost: 7168, timeCost: 5, parallelism: 1 }
  })
  const gateway = createClient(stack.urls.gateway)
  try {
    return await logIn(gateway, { id: user.id, email, password: PASSWORD })
  } finally {
    await gateway.close()
  }
}

/** The Redis key (without the stack's prefix) of a session. */
export function sessionKey (sessionId: string): string {
  return `session:${hashSessionId(sessionId)}`
}
