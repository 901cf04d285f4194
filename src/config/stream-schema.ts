import { z } from 'zod';
import { iamRoleArn } from './field-schemas.js';

const initialPositions = ['TRIM_HORIZON', 'LATEST', 'AT_TIMESTAMP'] as const;

export const streamSchema = z.strictObject({
  name: z.string({ error: 'is required (a stream name or ARN)' }).min(1),
  initialPosition: z.enum(initialPositions).default('TRIM_HORIZON'),
  initialTimestamp: z.iso.datetime({ offset: true }).nullable().default(null),
});

/** One of several streams (`streams:`): it may be read under a role of its own. */
export const multiStreamSchema = streamSchema.extend({
  /** Assumed (sts:AssumeRole) for this stream's Kinesis calls only; the lease table stays ours. */
  roleArn: iamRoleArn.optional(),
});

/** Enhanced fan-out: the registered stream consumer and how SubscribeToShard is spoken. */
export const fanoutSchema = z.strictObject({
  /** The registered consumer's name; null: the application name. */
  consumerName: z
    .string()
    .regex(/^[a-zA-Z0-9_.-]{1,128}$/, 'must be 1-128 characters of A-Z a-z 0-9 _ . -')
    .nullable()
    .default(null),
  /**
   * http2 as AWS serves SubscribeToShard; http1.1 for kinesis-local (kinesis-mock), which
   * serves the event stream over HTTP/1.1 only.
   */
  protocol: z.enum(['http2', 'http1.1']).default('http2'),
});
export const FANOUT_DEFAULTS = { consumerName: null, protocol: 'http2' } as const;
