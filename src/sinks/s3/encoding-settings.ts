import type { S3SinkConfig } from '../../config/schema.js';
import type { LayoutSettings } from './key-layout.js';

/**
 * How an S3 sink turns an event into a line and a directory: the part of its config the
 * encoder and the key layout read. Plain data, so a decode worker builds the same encoder
 * and layout as the sink it encodes for.
 */
export interface S3EncodingSettings {
  readonly format: S3SinkConfig['format'];
  /** Airship's layout holds Airship's own documents; other layouts the normalized event. */
  readonly verbatimJson: boolean;
  readonly layout: Omit<LayoutSettings, 'resolveShape'>;
}

export function s3EncodingSettings(config: S3SinkConfig): S3EncodingSettings {
  return {
    format: config.format,
    verbatimJson: config.layout === 'airship',
    layout: {
      layout: config.layout,
      sinkName: config.name,
      prefix: config.prefix,
      appKey: config.appKey,
      integrationId: config.integrationId,
      compression: config.compression,
      partitionBy: config.partitionBy,
    },
  };
}
