import type { S3SinkConfig } from '../../config/schema.js';
import type { Sink } from '../sink.js';
import { determinismFingerprint } from './config-fingerprint.js';
import { ExactlyOnceS3Sink } from './exactly-once-sink.js';
import { S3Sink, type S3SinkDeps } from './s3-sink.js';

/** The S3 sink a config asks for: at-least-once batches, or exactly-once objects. */
export function createS3Sink(config: S3SinkConfig, decodeFormat: string, deps: S3SinkDeps): Sink {
  if (!config.exactlyOnce) return new S3Sink(config, deps);
  const fingerprint = determinismFingerprint({ sink: config, decodeFormat });
  return new ExactlyOnceS3Sink(config, { ...deps, fingerprint });
}
