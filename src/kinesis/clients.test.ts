import { describe, expect, it } from 'vitest';
import { createAwsClients, destroyAwsClients } from './clients.js';

describe('createAwsClients', () => {
  it('leaves out the SDK logger middleware on the Kinesis client only', () => {
    const clients = createAwsClients({ region: 'us-east-1', env: {} });
    try {
      expect(clients.kinesis.middlewareStack.identify().join('\n')).not.toMatch(/loggerMiddleware/);
      expect(clients.s3.middlewareStack.identify().join('\n')).toMatch(/loggerMiddleware/);
    } finally {
      destroyAwsClients(clients);
    }
  });
});
