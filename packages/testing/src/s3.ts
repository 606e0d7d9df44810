import { randomUUID } from 'node:crypto'
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  GetObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  S3Client
} from '@aws-sdk/client-s3'

// s3rver ships no types; these are the few members this helper touches.
interface S3rverStore {
  getResourcePath (bucket: string, key: string | undefined, resource: string): string
}

interface S3rverApp {
  store: S3rverStore
  logger: { close (): void }
  configureBuckets (): Promise<unknown>
  callback (): (req: IncomingMessage, res: ServerResponse) => void
}

type S3rverConstructor = new (options: Record<string, unknown>) => S3rverApp

const S3rver = createRequire(import.meta.url)('s3rver') as S3rverConstructor

export interface StartS3ServerOptions {
  /** Created before the server answers; default `tessera-test`. */
  bucket?: string
  /** Keep data here across restarts (the embedded stack); default: a temporary directory removed on close. */
  directory?: string
  /** Default: a free port. */
  port?: number
}

export interface MultipartUploadInfo {
  key: string
  uploadId: string
}

export interface TestS3Server {
  /** `http://127.0.0.1:<port>`, for path-style clients. */
  endpoint: string
  bucket: string
  region: string
  accessKeyId: string
  secretAccessKey: string
  /** Where s3rver keeps its files; removed by `close()` unless it was given. */
  directory: string
  /** Path-style, checksums only when required (what s3rver needs). Destroyed by `close()`. */
  client: S3Client
  /** Every key in the bucket under `prefix`, in key order. */
  listObjects (prefix?: string): Promise<string[]>
  /** Every incomplete multipart upload in the bucket, through the SDK. */
  listMultipartUploads (): Promise<MultipartUploadInfo[]>
  /** The whole body of one object. */
  readObject (key: string): Promise<Buffer>
  /** Stops the server and deletes its directory. */
  close (): Promise<void>
}

const ACCESS_KEY_ID = 'S3RVER'
const SECRET_ACCESS_KEY = 'S3RVER'
const REGION = 'us-east-1'
const UPLOAD_ID = /^[0-9a-f]{32}$/
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/

function escapeXml (text: string): string {
  return text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`)
}

function sendXml (res: ServerResponse, status: number, body: string) {
  const xml = `<?xml version="1.0" encoding="UTF-8"?>\n${body}`
  res.writeHead(status, {
    'content-type': 'application/xml',
    'content-length': Buffer.byteLength(xml),
    'x-amz-request-id': randomUUID()
  })
  res.end(xml)
}

function noSuchUpload (res: ServerResponse, uploadId: string) {
  // The request body (an unread part) is not drained; closing the connection discards it.
  res.shouldKeepAlive = false
  sendXml(res, 404, '<Error><Code>NoSuchUpload</Code>' +
    '<Message>The specified upload does not exist.</Message>' +
    `<UploadId>${escapeXml(uploadId)}</UploadId></Error>`)
}

interface ParsedRequest {
  bucket: string
  key: string
  query: URLSearchParams
}

function parseRequest (req: IncomingMessage): ParsedRequest | null {
  const url = new URL(req.url ?? '/', 'http://s3.invalid')
  const [, bucket = '', ...keyParts] = url.pathname.split('/')
  if (!BUCKET_NAME.test(bucket)) return null

  try {
    return { bucket, key: decodeURIComponent(keyParts.join('/')), query: url.searchParams }
  } catch {
    return null
  }
}

/**
 * s3rver 3.7 keeps multipart uploads on disk but answers AbortMultipartUpload with 405 and
 * ListMultipartUploads with 501, and it accepts parts for upload ids it never issued. This front
 * implements those three against s3rver's own upload directories, so abort paths can be tested.
 * Only path-style requests are understood.
 */
function createFront (app: S3rverApp) {
  const s3rver = app.callback()
  const uploadsDir = (bucket: string) => app.store.getResourcePath(bucket, undefined, 'uploads')

  async function uploadKey (bucket: string, uploadId: string): Promise<string | null> {
    if (!UPLOAD_ID.test(uploadId)) return null

    try {
      return await readFile(join(uploadsDir(bucket), uploadId, 'key'), 'utf8')
    } catch {
      return null
    }
  }

  async function listUploads (bucket: string, prefix: string) {
    let ids: string[]
    try {
      ids = await readdir(uploadsDir(bucket))
    } catch {
      return []
    }

    const uploads = []
    for (const uploadId of ids) {
      const key = await uploadKey(bucket, uploadId)
      if (key === null || !key.startsWith(prefix)) continue

      const { mtime } = await stat(join(uploadsDir(bucket), uploadId))
      uploads.push({ key, uploadId, initiated: mtime })
    }

    return uploads.sort((a, b) => a.key.localeCompare(b.key) || a.uploadId.localeCompare(b.uploadId))
  }

  async function sendUploadList (res: ServerResponse, bucket: string, query: URLSearchParams) {
    const prefix = query.get('prefix') ?? ''
    const urlEncoded = query.get('encoding-type') === 'url'
    const encodeKey = (key: string) => escapeXml(urlEncoded ? encodeURIComponent(key) : key)
    const uploads = await listUploads(bucket, prefix)

    const entries = uploads.map((upload) => '<Upload>' +
      `<Key>${encodeKey(upload.key)}</Key><UploadId>${upload.uploadId}</UploadId>` +
      '<Initiator><ID>123456789000</ID><DisplayName>S3rver</DisplayName></Initiator>' +
      '<Owner><ID>123456789000</ID><DisplayName>S3rver</DisplayName></Owner>' +
      `<StorageClass>STANDARD</StorageClass><Initiated>${upload.initiated.toISOString()}</Initiated>` +
      '</Upload>').join('')

    sendXml(res, 200, '<ListMultipartUploadsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">' +
      `<Bucket>${escapeXml(bucket)}</Bucket><KeyMarker></KeyMarker><UploadIdMarker></UploadIdMarker>` +
      `<Prefix>${encodeKey(prefix)}</Prefix><MaxUploads>1000</MaxUploads><IsTruncated>false</IsTruncated>` +
      (urlEncoded ? '<EncodingType>url</EncodingType>' : '') +
      `${entries}</ListMultipartUploadsResult>`)
  }

  async function handle (req: IncomingMessage, res: ServerResponse) {
    const parsed = parseRequest(req)
    if (parsed === null) return s3rver(req, res)

    const { bucket, key, query } = parsed
    const uploadId = query.get('uploadId')

    if (key !== '' && uploadId !== null) {
      if (await uploadKey(bucket, uploadId) !== key) return noSuchUpload(res, uploadId)
      if (req.method !== 'DELETE') return s3rver(req, res)

      await rm(join(uploadsDir(bucket), uploadId), { recursive: true, force: true })
      res.writeHead(204, { 'x-amz-request-id': randomUUID() })
      return res.end()
    }

    if (key === '' && req.method === 'GET' && query.has('uploads')) {
      return sendUploadList(res, bucket, query)
    }

    return s3rver(req, res)
  }

  return (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res).catch((err: unknown) => {
      res.shouldKeepAlive = false
      const message = escapeXml(String(err))
      sendXml(res, 500, `<Error><Code>InternalError</Code><Message>${message}</Message></Error>`)
    })
  }
}

/**
 * Starts s3rver on a free port of 127.0.0.1 with its data in a fresh temporary directory, creates
 * the bucket, and returns a client for it. Supports AbortMultipartUpload and ListMultipartUploads,
 * which s3rver alone does not.
 */
export async function startS3Server (options: StartS3ServerOptions = {}): Promise<TestS3Server> {
  const bucket = options.bucket ?? 'tessera-test'
  const persistent = options.directory !== undefined
  const directory = options.directory ?? await mkdtemp(join(tmpdir(), 'tessera-s3-'))
  const app = new S3rver({
    directory,
    silent: true,
    vhostBuckets: false,
    configureBuckets: [{ name: bucket }]
  })
  await app.configureBuckets()

  const server = createServer(createFront(app))
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve())
  })

  const { port } = server.address() as AddressInfo
  const endpoint = `http://127.0.0.1:${port}`
  const client = new S3Client({
    endpoint,
    region: REGION,
    credentials: { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY },
    forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED'
  })

  async function listObjects (prefix = ''): Promise<string[]> {
    const keys: string[] = []
    let token: string | undefined

    do {
      const page = await client.send(new ListObjectsV2Command({
        Bucket: bucket, Prefix: prefix, ContinuationToken: token
      }))
      for (const object of page.Contents ?? []) keys.push(object.Key ?? '')
      token = page.IsTruncated === true ? page.NextContinuationToken : undefined
    } while (token !== undefined)

    return keys.sort()
  }

  async function listMultipartUploads (): Promise<MultipartUploadInfo[]> {
    const page = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket }))

    return (page.Uploads ?? []).map((upload) => ({
      key: upload.Key ?? '',
      uploadId: upload.UploadId ?? ''
    }))
  }

  async function readObject (key: string): Promise<Buffer> {
    const object = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }))

    return Buffer.from(await object.Body!.transformToByteArray())
  }

  async function close () {
    client.destroy()

    await new Promise<void>((resolve) => {
      server.close(() => resolve())
      server.closeAllConnections()
    })

    app.logger.close()
    if (!persistent) await rm(directory, { recursive: true, force: true })
  }

  return {
    endpoint,
    bucket,
    region: REGION,
    accessKeyId: ACCESS_KEY_ID,
    secretAccessKey: SECRET_ACCESS_KEY,
    directory,
    client,
    listObjects,
    listMultipartUploads,
    readObject,
    close
  }
}
