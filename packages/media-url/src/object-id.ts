import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'

function base32 (value: bigint, chars: number): string {
  let text = ''
  for (let i = 0; i < chars; i++, value >>= 5n) text = CROCKFORD[Number(value & 31n)] + text
  return text
}

function timePart (now: number): string {
  return base32(BigInt(Math.floor(now)), 10)
}

function randomPart (chars: number): string {
  const bytes = randomBytes(Math.ceil(chars * 5 / 8))
  return base32(BigInt('0x' + bytes.toString('hex')), chars)
}

/**
 * 26 Crockford base32 characters laid out like a ULID: 48 bits of milliseconds, then 80 random
 * bits, so keys of one user sort by upload time.
 */
export function newObjectId (now = Date.now()): string {
  return timePart(now) + randomPart(16)
}

function mac (secret: string, userId: string, stem: string, fileName: string): string {
  const digest = createHmac('sha256', secret).update(`${userId}/${stem}_${fileName}`).digest()
  return base32(BigInt('0x' + digest.subarray(0, 7).toString('hex')) >> 6n, 10)
}

/**
 * An object id the profile service can recognise as issued by the media service: 10 characters of
 * time, 6 random, then 10 (50 bits) of an HMAC over the owner, the id so far and the file name,
 * keyed with the secret both services share (`MEDIA_URL_SECRET`). Still 26 characters, so keys
 * keep the contract's shape.
 */
export function issueObjectId (secret: string, userId: string, fileName: string, now = Date.now()): string {
  const stem = timePart(now) + randomPart(6)
  return stem + mac(secret, userId, stem, fileName)
}

/** Whether `id` was made by {@link issueObjectId} for this owner and file name with `secret`. */
export function isIssuedObjectId (secret: string, userId: string, id: string, fileName: string): boolean {
  if (!/^[0-9A-HJKMNP-TV-Z]{26}$/.test(id)) return false
  const expected = Buffer.from(mac(secret, userId, id.slice(0, 16), fileName))
  return timingSafeEqual(expected, Buffer.from(id.slice(16)))
}
