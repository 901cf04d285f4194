import { DeleteObjectsCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';

/** The manifest format of Redshift's COPY ... MANIFEST. */
export interface CopyManifest {
  readonly entries: ReadonlyArray<{
    readonly url: string;
    readonly mandatory: boolean;
    readonly meta: { readonly content_length: number };
  }>;
}

/**
 * Stages a batch in S3 for COPY: the gzip CSV parts under `{prefix}{batchId}/`, then a
 * manifest naming exactly those parts (`mandatory`, so a missing part fails the COPY
 * instead of loading less). Writing the same batch id again overwrites, so a retried
 * load never reads parts of an earlier attempt.
 */
export class S3Staging {
  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
    private readonly prefix: string,
  ) {}

  /** Every key `stage` writes for a batch of `partCount` parts, manifest last. */
  keysFor(batchId: string, partCount: number): string[] {
    const directory = `${this.prefix}${batchId}/`;
    const parts = Array.from(
      { length: partCount },
      (_, index) => `${directory}part-${String(index).padStart(4, '0')}.csv.gz`,
    );
    return [...parts, `${directory}manifest`];
  }

  /** Resolves the manifest's s3:// URL, for COPY. */
  async stage(batchId: string, parts: readonly Buffer[]): Promise<string> {
    const keys = this.keysFor(batchId, parts.length);
    const partKeys = keys.slice(0, -1);
    const manifestKey = keys[keys.length - 1] ?? '';
    await Promise.all(
      parts.map((body, index) =>
        this.s3.send(
          new PutObjectCommand({
            Bucket: this.bucket,
            Key: partKeys[index],
            Body: body,
            ContentType: 'application/gzip',
          }),
        ),
      ),
    );
    const manifest: CopyManifest = {
      entries: partKeys.map((key, index) => ({
        url: this.url(key),
        mandatory: true,
        meta: { content_length: parts[index]?.byteLength ?? 0 },
      })),
    };
    await this.s3.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: manifestKey,
        Body: JSON.stringify(manifest),
        ContentType: 'application/json',
      }),
    );
    return this.url(manifestKey);
  }

  async remove(keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return;
    await this.s3.send(
      new DeleteObjectsCommand({
        Bucket: this.bucket,
        Delete: { Objects: keys.map((Key) => ({ Key })), Quiet: true },
      }),
    );
  }

  private url(key: string): string {
    return `s3://${this.bucket}/${key}`;
  }
}
