import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { directoryDeadLetter, readDeadLetters } from '../../../test/support/dead-letters.js';
import { quietSinkDeps } from '../../../test/support/events.js';
import { userRecord } from '../../../test/support/user-record.js';
import { deadLetterEntry } from '../dead-letter-entry.js';
import { DeadLetterWriter } from './dead-letter-writer.js';
import { directoryDeadLetterStore } from './stores.js';

describe('DeadLetterWriter', () => {
  it('files cut in the same second carry 64 random bits in their names', async () => {
    // Several replicas writing one prefix in a poison-record storm cut many files a second;
    // with names that differ only in 32 random bits, 100 files a second met a same-name
    // pair about every 10 days, and the second PUT replaced entries already checkpointed past.
    const { path } = directoryDeadLetter();
    const { metrics, log } = quietSinkDeps();
    const writer = new DeadLetterWriter(directoryDeadLetterStore(path), metrics, log, 1 << 20);
    let acked = 0;
    for (let n = 0; n < 3; n += 1) {
      const record = userRecord({ sequenceNumber: String(1000 + n) });
      writer.write(deadLetterEntry(record, 'decode_failed', 'not JSON'), { ack: () => acked++ });
      await writer.flush();
    }
    await writer.close();
    expect(acked).toBe(3);
    expect(readDeadLetters(path).map((entry) => entry.sequenceNumber)).toHaveLength(3);
    const names = readdirSync(path, { recursive: true })
      .map(String)
      .filter((name) => name.endsWith('.jsonl'));
    expect(names).toHaveLength(3);
    for (const name of names) expect(name).toMatch(/dead-letter-\d{8}T\d{6}-[0-9a-f]{16}\.jsonl$/);
  });
});
