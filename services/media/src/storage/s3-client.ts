import { HeadBucketCommand, S3Client } from '@aws-sdk/client-s3'

export interface S3Config {
  /** Unset for AWS itself; `http://127.0.0.1:9000` for MinIO or s3rver. */
  endpoint?: string
  region: string
  /** Both or neither; neither uses the SDK's default credential chain. */
  accessKeyId?: string
  secretAccessKey?: string
  /** `true` for MinIO, s3rver and any endpoint without per-bucket host names. */
  forcePathStyle: boolean
  /**
   * Send and check checksums only where S3 requires them. Needed for s3rver and MinIO, which
   * store aws-chunked bodies wrongly; harmless for AWS, where TLS and Content-MD5 still apply.
   */
  checksumWhenRequired: boolean
  /** Give up connecting after this long; default 5000 ms. */
  connectionTimeoutMs?: number
  /** Give up on a socket idle for this long, e.g. a stalled part upload; default 30 000 ms. */
  socketTimeoutMs?: number
}

export function createS3Client (config: S3Config): S3Client {
  const { accessKeyId, secretAccessKey } = config
  if ((accessKeyId === undefined) !== (secretAccessKey === undefined)) {
    throw new TypeError('S3 accessKeyId and secretAccessKey must be given together')
  }

  const checksums = config.checksumWhenRequired ? 'WHEN_REQUIRED' : 'WHEN_SUPPORTED'

  return new S3Client({
    ...(config.endpoint !== undefined && { endpoint: config.endpoint }),
    region: config.region,
    ...(accessKeyId !== undefined && secretAccessKey !== undefined && {
      credentials: { accessKeyId, secretAccessKey }
    }),
    forcePathStyle: config.forcePathStyle,
    requestChecksumCalculation: checksums,
    responseChecksumValidation: checksums,
    requestHandler: {
      connectionTimeout: config.connectionTimeoutMs ?? 5000,
      socketTimeout: config.socketTimeoutMs ?? 30_000
    }
  })
}

/**
 * `true` when the bucket exists and these credentials may use it (HeadBucket), for `/readyz`.
 * Never throws; an answer slower than `timeoutMs` (default 2000) counts as unreachable.
 */
export async function bucketReachable (
  client: S3Client,
  bucket: string,
  options: { timeoutMs?: number } = {}
): Promise<boolean> {
  try {
    await client.send(new HeadBucketCommand({ Bucket: bucket }), {
      abortSignal: AbortSignal.timeout(options.timeoutMs ?? 2000)
    })
    return true
  } catch {
    return false
  }
}
