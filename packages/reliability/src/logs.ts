export interface LogLine {
  level: number
  service?: string
  msg?: string
  [key: string]: unknown
}

export interface Mail {
  to: string
  subject: string
  text: string
}

const ERROR = 50
const PROBLEM = /"level":[4-6]0[,}]/
const KEPT_PROBLEMS = 1000

/**
 * Where the apps of a test stack write their pino lines. It keeps the e-mails the profile service
 * logs instead of sending them (no SMTP_URL), and the warn and error lines, a bounded number of
 * each, so that a long soak does not grow with its own logs.
 */
export function createLogSink () {
  const mails: Mail[] = []
  const problems: LogLine[] = []
  let errors = 0
  let lines = 0

  return {
    stream: {
      write (chunk: string): void {
        lines++
        // Most lines are neither e-mails nor problems: they are counted, not parsed.
        if (!chunk.includes('"mail"') && !PROBLEM.test(chunk)) return
        let line: LogLine
        try {
          line = JSON.parse(chunk) as LogLine
        } catch {
          return
        }

        const mail = line.mail as Partial<Mail> | undefined
        if (typeof mail?.text === 'string') mails.push(mail as Mail)
        if (line.level >= ERROR) errors++
        if (line.level >= 40 && problems.length < KEPT_PROBLEMS) problems.push(line)
      }
    },

    /** Takes (removes) the e-mails sent to `address` so far. */
    takeMails (address: string): Mail[] {
      const taken = mails.filter((mail) => mail.to === address)
      for (const mail of taken) mails.splice(mails.indexOf(mail), 1)
      return taken
    },

    /** Warn and error lines, the first ones up to a bound. */
    problems,

    get errors () { return errors },
    get lines () { return lines }
  }
}

export type LogSink = ReturnType<typeof createLogSink>

/** The 6-digit code and the user id in an activation or password reset e-mail. */
export function codeOf (mail: Mail): { code: string, id: string } {
  const code = /^ {4}(\d{6})$/m.exec(mail.text)?.[1]
  const id = /\/auth\/(?:activate|password\/change)\/([0-9a-f-]{36})/.exec(mail.text)?.[1]
  if (code === undefined || id === undefined) throw new Error(`no code in the e-mail ${JSON.stringify(mail.text)}`)
  return { code, id }
}
