import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { get, listFiles, readText, readYaml, repoPath, type JsonObject } from './helpers.js';

/**
 * Calls the base policy deliberately leaves out (the relay is never granted a delete);
 * docs/iam.md gives the statement to add where they are wanted.
 */
const OPTIONAL_GRANTS: Record<string, string> = {
  's3:DeleteObject':
    'Redshift staging cleanup (RedshiftStaging) and `dead-letter replay --delete-replayed`',
};

/**
 * deploy/iam-policy.json is least privilege for the example config, and grants every AWS
 * call the relay makes: the SDK commands imported under src/ are mapped to IAM actions,
 * so a new call without a policy change fails here.
 */

interface Statement {
  Sid: string;
  Effect: string;
  Action: string | string[];
  Resource: string | string[];
  Condition?: Record<string, Record<string, string | string[]>>;
}

const policy = JSON.parse(readText('deploy/iam-policy.json')) as {
  Version: string;
  Statement: Statement[];
};
const list = (value: string | string[]) => (Array.isArray(value) ? value : [value]);
const statements = policy.Statement;
const granted = new Map<string, string[]>(); // action -> resources
for (const statement of statements) {
  for (const action of list(statement.Action)) {
    granted.set(action, [...(granted.get(action) ?? []), ...list(statement.Resource)]);
  }
}

/** Actions granted for reasons other than a call in src/, and why. */
const GRANTED_FOR_OTHER_REASONS: Record<string, string> = {
  'kinesis:DescribeStream': 'KCL-compatible tooling and operators inspecting the stream',
  'kinesis:DescribeStreamSummary': "KEDA's aws-kinesis-stream scaler with identityOwner: workload",
  's3:ListBucket': 'listing dead letters for replay',
  's3:GetObject': 'reading dead letters for replay',
};

/** IAM actions behind the SDK v3 commands that are not named "<Action>Command". */
const COMMAND_ACTIONS: Record<string, Record<string, string[]>> = {
  '@aws-sdk/lib-dynamodb': {
    GetCommand: ['dynamodb:GetItem'],
    PutCommand: ['dynamodb:PutItem'],
    UpdateCommand: ['dynamodb:UpdateItem'],
    DeleteCommand: ['dynamodb:DeleteItem'],
    ScanCommand: ['dynamodb:Scan'],
    QueryCommand: ['dynamodb:Query'],
    BatchGetCommand: ['dynamodb:BatchGetItem'],
    BatchWriteCommand: ['dynamodb:BatchWriteItem'],
  },
  '@aws-sdk/client-s3': {
    PutObjectCommand: ['s3:PutObject'],
    CreateMultipartUploadCommand: ['s3:PutObject'],
    UploadPartCommand: ['s3:PutObject'],
    CompleteMultipartUploadCommand: ['s3:PutObject'],
    AbortMultipartUploadCommand: ['s3:AbortMultipartUpload'],
    GetObjectCommand: ['s3:GetObject'],
    HeadObjectCommand: ['s3:GetObject'],
    ListObjectsV2Command: ['s3:ListBucket'],
    HeadBucketCommand: ['s3:ListBucket'],
    DeleteObjectCommand: ['s3:DeleteObject'],
    DeleteObjectsCommand: ['s3:DeleteObject'],
  },
  // Upload runs PutObject, or a multipart upload that it aborts when a part fails.
  '@aws-sdk/lib-storage': { Upload: ['s3:PutObject', 's3:AbortMultipartUpload'] },
};
const SERVICE_PREFIX: Record<string, string> = {
  '@aws-sdk/client-kinesis': 'kinesis',
  '@aws-sdk/client-dynamodb': 'dynamodb',
};

/** IAM actions the production code calls (the demo's own emulator setup excluded). */
function actionsUsedBySource(): Map<string, string[]> {
  const used = new Map<string, string[]>();
  const files = listFiles(repoPath('src'), '.ts').filter(
    (f) => !f.endsWith('.test.ts') && !f.startsWith(join(repoPath('src'), 'demo')),
  );
  for (const file of files) {
    const source = readFileSync(file, 'utf8');
    for (const [, names, pkg] of source.matchAll(
      /import\s*\{([^}]*)\}\s*from\s*'(@aws-sdk\/[^']+)'/g,
    )) {
      const values = names
        .split(',')
        .map((n) => n.trim())
        .filter((n) => n && !n.startsWith('type '))
        .map((n) => n.split(/\s+as\s+/)[0]);
      for (const name of values) {
        const actions =
          COMMAND_ACTIONS[pkg]?.[name] ??
          (SERVICE_PREFIX[pkg] && name.endsWith('Command')
            ? [`${SERVICE_PREFIX[pkg]}:${name.slice(0, -'Command'.length)}`]
            : name.endsWith('Command') || name === 'Upload'
              ? [`UNMAPPED ${pkg} ${name}`]
              : []);
        for (const action of actions) {
          used.set(action, [...(used.get(action) ?? []), file.slice(repoPath().length + 1)]);
        }
      }
    }
  }
  return used;
}

const values = readYaml('helm/kinesis-relay/values.yaml') as JsonObject;
const local = readYaml('deploy/localstack/relay.yaml') as JsonObject;

describe('deploy/iam-policy.json', () => {
  it('is a well-formed identity policy of Allow statements with unique Sids', () => {
    expect(policy.Version).toBe('2012-10-17');
    expect(statements.length).toBeGreaterThan(0);
    for (const statement of statements) {
      expect(statement.Effect).toBe('Allow');
      expect(statement.Sid).toMatch(/^[A-Za-z0-9]+$/);
      expect(Object.keys(statement).sort()).toEqual(
        [
          'Action',
          'Effect',
          'Resource',
          'Sid',
          ...(statement.Condition ? ['Condition'] : []),
        ].sort(),
      );
    }
    expect(new Set(statements.map((s) => s.Sid)).size).toBe(statements.length);
  });

  it('grants the actions the relay needs on the stream, the lease table and the buckets', () => {
    expect([...granted.keys()]).toEqual(
      expect.arrayContaining([
        'kinesis:DescribeStream',
        'kinesis:DescribeStreamSummary',
        'kinesis:ListShards',
        'kinesis:GetShardIterator',
        'kinesis:GetRecords',
        'dynamodb:CreateTable',
        'dynamodb:DescribeTable',
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:UpdateItem',
        'dynamodb:DeleteItem',
        'dynamodb:Scan',
        'dynamodb:Query',
        's3:PutObject',
        's3:AbortMultipartUpload',
        's3:ListBucket',
      ]),
    );
  });

  it('has no wildcard action and no "*" resource', () => {
    for (const [action, resources] of granted) {
      expect(action).toMatch(/^(kinesis|dynamodb|s3):[A-Za-z0-9]+$/);
      for (const resource of resources) expect(resource).not.toBe('*');
    }
  });

  it('scopes each action to its own resource: the stream, the lease table, the buckets', () => {
    for (const [action, resources] of granted) {
      const service = action.split(':')[0];
      for (const resource of resources) {
        // A stream consumer's ARN ends in its creation time: `:*` stands for it, nothing else.
        if (service === 'kinesis')
          expect(resource).toMatch(
            /^arn:aws:kinesis:[a-z0-9-]+:\d{12}:stream\/[^*/]+(\/consumer\/[^*/:]+:\*)?$/,
          );
        // Query reads only KCL 3's owner index of the lease table, never the table.
        if (action === 'dynamodb:Query')
          expect(resource).toMatch(
            /^arn:aws:dynamodb:[a-z0-9-]+:\d{12}:table\/[^/*]+\/index\/LeaseOwnerToLeaseKeyIndex$/,
          );
        else if (service === 'dynamodb')
          expect(resource).toMatch(/^arn:aws:dynamodb:[a-z0-9-]+:\d{12}:table\/[^/*]+$/);
        if (service === 's3') expect(resource).toMatch(/^arn:aws:s3:::[a-z0-9.-]+(\/.*)?$/);
        if (action === 's3:ListBucket') expect(resource).not.toContain('/');
        if (action !== 's3:ListBucket' && service === 's3') expect(resource).toContain('/');
      }
    }
  });

  it('names the resources of the example configuration (chart defaults and LocalStack)', () => {
    for (const config of [values.config, local]) {
      const stream = String(get(config, 'stream.name'));
      const table = String(get(config, 'leases.table') ?? get(config, 'application'));
      const buckets = [
        String(get(config, 'sinks.0.bucket')),
        String(get(config, 'deadLetter.bucket')),
      ];
      expect(granted.get('kinesis:GetRecords')?.[0]).toMatch(new RegExp(`:stream/${stream}$`));
      expect(granted.get('dynamodb:UpdateItem')?.[0]).toMatch(new RegExp(`:table/${table}$`));
      for (const bucket of buckets) {
        expect(granted.get('s3:PutObject')).toContain(`arn:aws:s3:::${bucket}/*`);
      }
    }
  });

  it('limits reads and listing to the dead-letter prefix', () => {
    const prefix = String(get(values.config, 'deadLetter.prefix'));
    expect(granted.get('s3:GetObject')).toEqual([`arn:aws:s3:::engagement-archive/${prefix}*`]);
    const listing = statements.find((s) => list(s.Action).includes('s3:ListBucket'));
    expect(listing?.Condition?.StringLike?.['s3:prefix']).toEqual([prefix, `${prefix}*`]);
    expect(
      [...granted.keys()].filter((a) => /Delete(Object|Bucket)|PutBucket|DeleteTable/.test(a)),
    ).toEqual([]);
  });

  it('documents the optional grants the base policy leaves out', () => {
    for (const action of Object.keys(OPTIONAL_GRANTS))
      expect(readText('docs/iam.md')).toContain(`\`${action}\``);
  });

  it('grants every AWS call made by the code under src/', () => {
    const used = actionsUsedBySource();
    expect(used.size).toBeGreaterThan(5);
    const notGranted = [...used.entries()]
      .filter(([action]) => !granted.has(action) && !(action in OPTIONAL_GRANTS))
      .map(([action, files]) => `${action} (used in ${[...new Set(files)].join(', ')})`);
    // A new SDK call: map it above if unmapped, then add the action to the policy and docs/iam.md.
    expect(notGranted).toEqual([]);
  });

  it('grants nothing beyond those calls and the documented extras', () => {
    const used = actionsUsedBySource();
    const unexplained = [...granted.keys()].filter(
      (action) => !used.has(action) && !(action in GRANTED_FOR_OTHER_REASONS),
    );
    expect(unexplained).toEqual([]);
  });

  it('is documented action by action in docs/iam.md', () => {
    const doc = readText('docs/iam.md');
    for (const action of granted.keys()) expect(doc).toContain(`\`${action}\``);
    expect(doc).toContain('deploy/iam-policy.json');
  });
});
