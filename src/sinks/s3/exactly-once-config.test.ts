import { describe, expect, it } from 'vitest';
import { configProblems as problemsOf } from '../../../test/support/config-problems.js';
import { parseConfig } from '../../config/load.js';

const config = (sink: string, leases = '') => `
application: my-app
stream: { name: events }
${leases}
sinks:
  - { name: archive, type: s3, bucket: my-bucket${sink} }
`;

describe('exactlyOnce configuration', () => {
  it('is off by default, with a 30 s idle flush', () => {
    expect(parseConfig(config(''), 'test.yaml', {}).sinks[0]).toMatchObject({
      exactlyOnce: false,
      idleFlushMs: 30_000,
    });
    expect(problemsOf(config(', exactlyOnce: true'))).toEqual([]);
  });

  it('refuses an idle flush that could fire before a lost lease is noticed', () => {
    const problems = problemsOf(
      config(', exactlyOnce: true, idleFlushMs: 15000', 'leases: { failoverMs: 10000 }'),
    );
    expect(problems.join('\n')).toMatch(/sinks\.0\.idleFlushMs: must be at least twice/);
  });
});
