export interface Message {
  to: string
  subject: string
  text: string
}

export interface CodeMessageInput {
  to: string
  userId: string
  code: string
  /** How long the code stays valid, to tell the reader. */
  validForSeconds: number
}

function linkTo (frontendUrl: string, path: string, userId: string): string {
  return `${frontendUrl.replace(/\/+$/, '')}${path}${encodeURIComponent(userId)}`
}

function duration (seconds: number): string {
  const minutes = Math.ceil(seconds / 60)
  return minutes === 1 ? '1 minute' : `${minutes} minutes`
}

export function activationMessage (frontendUrl: string, input: CodeMessageInput): Message {
  const link = linkTo(frontendUrl, '/auth/activate/', input.userId)
  return {
    to: input.to,
    subject: 'Activate your Tessera account',
    text: [
      'Hi,',
      '',
      'Thanks for signing up for a Tessera account. Your activation code is:',
      '',
      `    ${input.code}`,
      '',
      `Enter it at ${link}`,
      `The code expires in ${duration(input.validForSeconds)}.`,
      '',
      'If you did not sign up, you can ignore this e-mail.',
      ''
    ].join('\n')
  }
}

export function passwordResetMessage (frontendUrl: string, input: CodeMessageInput): Message {
  const link = linkTo(frontendUrl, '/auth/password/change/', input.userId)
  return {
    to: input.to,
    subject: 'Reset your Tessera password',
    text: [
      'Hi,',
      '',
      'Someone asked to reset the password of your Tessera account. Your code is:',
      '',
      `    ${input.code}`,
      '',
      `Choose a new password at ${link}`,
      `The code expires in ${duration(input.validForSeconds)}.`,
      '',
      'If it was not you, ignore this e-mail: your password stays as it is.',
      ''
    ].join('\n')
  }
}

/** Sent instead of an activation code when someone registers the address of an active account. */
export function accountExistsMessage (frontendUrl: string, to: string): Message {
  return {
    to,
    subject: 'Your Tessera account',
    text: [
      'Hi,',
      '',
      'Someone tried to sign up for Tessera with this e-mail address,',
      'which already has an account.',
      '',
      `If it was you, log in at ${frontendUrl.replace(/\/+$/, '')}`,
      'or reset your password there if you forgot it.',
      '',
      'If it was not you, you can ignore this e-mail.',
      ''
    ].join('\n')
  }
}
