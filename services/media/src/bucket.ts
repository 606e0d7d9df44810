import { CreateBucketCommand, HeadBucketCommand, type S3Client } from '@aws-sdk/client-s3'

function status (error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode
}

/**
 * Creates `bucket` unless it exists. For the embedded stack and local stores only: production
 * buckets come with their policies and lifecycle rules from infrastructure code.
 * Resolves true when it created the bucket.
 */
export async function ensureBucket (client: S3Client, bucket: string): Promise<boolean> {
  try {
    await client.send(new HeadBucketCommand({ Bucket: bucket }))
    return false
  } catch (error) {
    if (status(error) !== 404) throw error
  }

  try {
    await client.send(new CreateBucketCommand({ Bucket: bucket }))
    return true
  } catch (error) {
    // Another replica starting at the same moment created it first.
    if ((error as { name?: string }).name === 'BucketAlreadyOwnedByYou') return false
    throw error
  }
}
