import { describe, expect, it } from 'vitest';
import { ShardProgress } from './shard-progress.js';

const at = (sequenceNumber: string, subSequenceNumber = 0) => ({
  sequenceNumber,
  subSequenceNumber,
});

describe('ShardProgress', () => {
  it('never moves the checkpoint past a record still waiting for a sink', () => {
    const progress = new ShardProgress();
    const first = progress.begin(at('100'));
    const firstAck = first.expect();
    first.settle();
    const second = progress.begin(at('200'));
    const secondAck = second.expect();
    second.settle();

    secondAck.ack(); // out of order: the later record is acknowledged first
    expect(progress.checkpointable()).toBeNull();
    firstAck.ack();
    expect(progress.checkpointable()).toEqual(at('200'));
  });

  it('waits for every sink an event was routed to', () => {
    const progress = new ShardProgress();
    const record = progress.begin(at('100', 3));
    const toS3 = record.expect();
    const toWebhook = record.expect();
    record.settle();
    toS3.ack();
    expect(progress.checkpointable()).toBeNull();
    toWebhook.ack();
    expect(progress.checkpointable()).toEqual(at('100', 3));
  });

  it('counts a record routed nowhere as done, and ignores a second ack of one handle', () => {
    const progress = new ShardProgress();
    progress.begin(at('1')).settle();
    expect(progress.checkpointable()).toEqual(at('1'));

    const record = progress.begin(at('2'));
    const ack = record.expect();
    const other = record.expect();
    record.settle();
    ack.ack();
    ack.ack();
    expect(progress.checkpointable()).toEqual(at('1'));
    other.ack();
    expect(progress.checkpointable()).toEqual(at('2'));
  });

  it('resolves drained() once everything handed over is acknowledged', async () => {
    const progress = new ShardProgress();
    const record = progress.begin(at('5'));
    const ack = record.expect();
    record.settle();
    let drained = false;
    const waiting = progress.drained().then(() => (drained = true));
    await Promise.resolve();
    expect(drained).toBe(false);
    ack.ack();
    await waiting;
    expect(drained).toBe(true);
    expect(progress.inFlight).toBe(0);
  });

  it('keeps its memory bounded over a long shard', () => {
    const progress = new ShardProgress();
    for (let i = 1; i <= 10_000; i += 1) progress.begin(at(String(i))).settle();
    expect(progress.inFlight).toBe(0);
    expect(progress.checkpointable()).toEqual(at('10000'));
  });

  it('gives every delivery its own handle, each acknowledged once', () => {
    const progress = new ShardProgress();
    const record = progress.begin(at('7'));
    const handles = [record.expect(), record.expect(), record.expect()];
    record.settle();
    expect(new Set(handles).size).toBe(3);
    handles[0]?.ack();
    handles[0]?.ack();
    handles[1]?.ack();
    handles[1]?.ack();
    expect(progress.checkpointable()).toBeNull();
    handles[2]?.ack();
    expect(progress.checkpointable()).toEqual(at('7'));
  });
});
