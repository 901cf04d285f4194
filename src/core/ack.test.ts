import { describe, expect, it } from 'vitest';
import { ackAfterEach } from './ack.js';

describe('ackAfterEach', () => {
  it('acknowledges once every handle has been, each counted once however often it is called', () => {
    let acked = 0;
    const handles = ackAfterEach({ ack: () => (acked += 1) }, 3);
    expect(handles).toHaveLength(3);
    handles[0]?.ack();
    handles[0]?.ack();
    handles[2]?.ack();
    expect(acked).toBe(0);
    handles[1]?.ack();
    expect(acked).toBe(1);
    handles[1]?.ack();
    expect(acked).toBe(1);
  });

  it('acknowledges at once for no events', () => {
    let acked = 0;
    expect(ackAfterEach({ ack: () => (acked += 1) }, 0)).toEqual([]);
    expect(acked).toBe(1);
  });
});
