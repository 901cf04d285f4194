import type { KinesisClientConfig } from '@aws-sdk/client-kinesis';
import { fromTemporaryCredentials } from '@aws-sdk/credential-providers';

/**
 * The credentials for one stream's Kinesis calls: with a role (config `streams[].roleArn`,
 * typically a stream in another account) the SDK assumes it through STS and refreshes the
 * session before it expires; without one, undefined (the SDK's default chain, as for the
 * lease table, which always stays under the process's own credentials).
 */
export function streamCredentials(
  stream: { readonly roleArn?: string },
  options: { readonly region?: string; readonly sessionName: string },
): KinesisClientConfig['credentials'] {
  if (!stream.roleArn) return undefined;
  return fromTemporaryCredentials({
    params: { RoleArn: stream.roleArn, RoleSessionName: sessionName(options.sessionName) },
    clientConfig: options.region ? { region: options.region } : {},
  });
}

/** STS allows 2-64 characters of [\w+=,.@-] in a session name. */
function sessionName(name: string): string {
  return `kinesis-relay-${name}`.replace(/[^\w+=,.@-]/g, '-').slice(0, 64);
}
