import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createKinesisClient } from './clients.js';
import { KinesisStreamApi } from './stream-api.js';
import { streamCredentials } from './stream-credentials.js';

interface Seen {
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** A real node:http server answering every request with `answer`, recording what came. */
async function server(answer: (body: string) => { type: string; body: string }) {
  const seen: Seen[] = [];
  const http: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      seen.push({ headers: req.headers, body });
      const reply = answer(body);
      res.writeHead(200, { 'content-type': reply.type });
      res.end(reply.body);
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    close: () => new Promise<void>((resolve) => http.close(() => resolve())),
  };
}

/** STS's AssumeRole answer (the query protocol's XML), with a session that lasts. */
const ASSUMED = `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleResult>
    <AssumedRoleUser>
      <AssumedRoleId>AROAEXAMPLE:kinesis-relay-app</AssumedRoleId>
      <Arn>arn:aws:sts::444455556666:assumed-role/relay-reader/kinesis-relay-app</Arn>
    </AssumedRoleUser>
    <Credentials>
      <AccessKeyId>ASIAROLEKEYEXAMPLE01</AccessKeyId>
      <SecretAccessKey>role-secret</SecretAccessKey>
      <SessionToken>role-session-token</SessionToken>
      <Expiration>2099-01-01T00:00:00Z</Expiration>
    </Credentials>
  </AssumeRoleResult>
  <ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata>
</AssumeRoleResponse>`;

const saved = { ...process.env };
afterEach(() => {
  const keys = [
    'AWS_ENDPOINT_URL_STS',
    'AWS_ENDPOINT_URL_KINESIS',
    'AWS_ACCESS_KEY_ID',
    'AWS_SECRET_ACCESS_KEY',
  ];
  for (const key of keys)
    if (saved[key] === undefined) delete process.env[key];
    else process.env[key] = saved[key];
});

describe('a stream read under its own role (streams[].roleArn)', () => {
  it('has no credentials of its own without a role: the SDK default chain reads it', () => {
    expect(streamCredentials({}, { sessionName: 'app' })).toBeUndefined();
  });

  it("assumes the role through STS and signs that stream's Kinesis calls with the session; other clients keep the process's credentials", async () => {
    const sts = await server(() => ({ type: 'text/xml', body: ASSUMED }));
    const kinesis = await server(() => ({
      type: 'application/x-amz-json-1.1',
      body: JSON.stringify({ Shards: [] }),
    }));
    process.env.AWS_ENDPOINT_URL_STS = sts.url;
    process.env.AWS_ENDPOINT_URL_KINESIS = kinesis.url;
    process.env.AWS_ACCESS_KEY_ID = 'PROCESSKEYEXAMPLE001';
    process.env.AWS_SECRET_ACCESS_KEY = 'process-secret';
    const roleArn = 'arn:aws:iam::444455556666:role/relay-reader';
    const partner = createKinesisClient({
      region: 'us-east-1',
      credentials: streamCredentials(
        { roleArn },
        { region: 'us-east-1', sessionName: 'engagement relay/prod' },
      ),
    });
    const own = createKinesisClient({ region: 'us-east-1' });
    try {
      await new KinesisStreamApi(partner, 'partner-events').listShards();
      await new KinesisStreamApi(own, 'engagement-events').listShards();

      expect(sts.seen).toHaveLength(1);
      const assume = new URLSearchParams(sts.seen[0]?.body);
      expect(assume.get('Action')).toBe('AssumeRole');
      expect(assume.get('RoleArn')).toBe(roleArn);
      // STS allows [\w+=,.@-] only: the application name is made to fit.
      expect(assume.get('RoleSessionName')).toBe('kinesis-relay-engagement-relay-prod');

      const [partnerCall, ownCall] = kinesis.seen;
      expect(partnerCall?.body).toContain('partner-events');
      expect(partnerCall?.headers.authorization).toContain('Credential=ASIAROLEKEYEXAMPLE01/');
      expect(partnerCall?.headers['x-amz-security-token']).toBe('role-session-token');
      expect(ownCall?.body).toContain('engagement-events');
      expect(ownCall?.headers.authorization).toContain('Credential=PROCESSKEYEXAMPLE001/');
      expect(ownCall?.headers['x-amz-security-token']).toBeUndefined();
    } finally {
      partner.destroy();
      own.destroy();
      await sts.close();
      await kinesis.close();
    }
  });
});
