import { describe, expect, it } from 'vitest';
import { leaseFixture } from '../../test/support/lease-fixture.js';
import {
  renewal,
  requestHandoffUpdate,
  takeUpdate,
  updateNames,
  type LeaseUpdate,
} from './lease-updates.js';

/** Every `#name` placeholder an update's expressions use. */
function placeholders(request: LeaseUpdate): string[] {
  const text = `${request.update} ${request.condition}`;
  return [...new Set(text.match(/#\w+/g) ?? [])].sort();
}

describe('lease updates', () => {
  it('names exactly the placeholders its expressions use (DynamoDB refuses an unused one)', () => {
    const handoff = requestHandoffUpdate('worker-a', 'worker-b');
    expect(Object.keys(updateNames(handoff)).sort()).toEqual(placeholders(handoff));
    expect(updateNames(handoff)['#owner']).toBe('leaseOwner');
    expect(updateNames(handoff)['#counter']).toBeUndefined();

    const take = takeUpdate(leaseFixture('shardId-1', 'worker-a', { leaseCounter: 7 }), 'me');
    expect(Object.keys(updateNames(take)).sort()).toEqual(placeholders(take));
    expect(updateNames(take)['#counter']).toBe('leaseCounter');
  });

  it('a take expects the counter it saw, and counts an owner switch only when the owner changes', () => {
    const seen = leaseFixture('shardId-1', 'worker-a', { leaseCounter: 7 });
    expect(takeUpdate(seen, 'me').values).toMatchObject({
      ':expected': 7,
      ':next': 8,
      ':switched': 1,
    });
    expect(takeUpdate(seen, 'worker-a').values[':switched']).toBe(0);
  });

  it('a renewal learns of a handoff only when we are the checkpoint owner and the owner is another', () => {
    expect(renewal({ leaseOwner: 'b', checkpointOwner: 'me' }, 'me', 5)).toEqual({
      counter: 5,
      handoffTo: 'b',
    });
    expect(renewal({ leaseOwner: 'me' }, 'me', 5).handoffTo).toBeNull();
    expect(renewal({ leaseOwner: 'me', checkpointOwner: 'me' }, 'me', 5).handoffTo).toBeNull();
    expect(renewal(undefined, 'me', 5).handoffTo).toBeNull();
  });
});
