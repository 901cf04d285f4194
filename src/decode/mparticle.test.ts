import { describe, expect, it } from 'vitest';
import type { DecodeResult } from './decoder.js';
import {
  MPARTICLE_MEMBER_ADDED_DATA,
  MPARTICLE_MEMBER_REMOVED_DATA,
  mparticleEnvelope,
  userRecord,
} from './fixtures/samples.js';
import { claimsMparticle, mparticleDecoder } from './mparticle.js';

function events(result: DecodeResult) {
  if (!result.ok) throw new Error(`expected success, got: ${result.error}`);
  return result.events;
}

function error(result: DecodeResult): string {
  if (result.ok) throw new Error('expected a failure');
  return result.error;
}

describe('mparticle decoder', () => {
  it('decodes the reference "Member Added" message', () => {
    const record = userRecord(mparticleEnvelope(MPARTICLE_MEMBER_ADDED_DATA));
    const [event] = events(mparticleDecoder.decode(record));
    expect(event).toMatchObject({
      id: `${record.shardId}:${record.sequenceNumber}:0`,
      type: 'audience_member_added',
      // "1234565788" is a Unix timestamp in seconds.
      occurred: '2009-02-13T22:56:28.000Z',
      format: 'mparticle',
      appId: '123123',
      deviceId: 'phileas83',
      userId: 'p.fogg138',
      metrics: {},
    });
    expect(event?.attributes).toEqual({
      DeliveryStreamName: 'mPTravelAudiences',
      AudienceId: '123123',
      AudienceName: 'LowEngagement',
      IsMember: 'true',
      CustomerId: 'p.fogg138',
      Email: 'phileas@travelers.com',
      Other: 'balloondude83',
      FacebookId: 'phileas83',
      GoogleAdvertisingIdentifier: 'phileas83',
    });
  });

  it('an AudienceId beyond 2^53 is decoded with its exact digits, not dead-lettered or rounded', () => {
    // mparticle-kinesis-audience.txt: "AudienceId - Unique identifier for the audience",
    // a JSON number in both examples (123123). JSON.parse rounds an integer beyond 2^53
    // (12345678901234567891 becomes 12345678901234567000), so the digits come from the text.
    const text = JSON.stringify(MPARTICLE_MEMBER_ADDED_DATA).replace(
      '"AudienceId":123123',
      '"AudienceId":12345678901234567891',
    );
    expect(text).toContain('12345678901234567891');
    const [event] = events(mparticleDecoder.decode(userRecord(mparticleEnvelope(text))));
    expect(event?.appId).toBe('12345678901234567891');
    expect(event?.attributes['AudienceId']).toBe('12345678901234567891');
    expect(event?.type).toBe('audience_member_added');
  });

  it('an AudienceId beyond 2^53 keeps its digits in original too (as any integer beyond 2^53)', () => {
    const text = JSON.stringify(MPARTICLE_MEMBER_ADDED_DATA).replace(
      '"AudienceId":123123',
      '"AudienceId":12345678901234567891',
    );
    const [event] = events(mparticleDecoder.decode(userRecord(mparticleEnvelope(text))));
    expect(event?.original).toEqual({
      DeliveryStreamName: 'mPTravelAudiences',
      Record: { Data: { ...MPARTICLE_MEMBER_ADDED_DATA, AudienceId: 12345678901234567891n } },
    });
  });

  it('fails an AudienceId that is a fraction', () => {
    const text = JSON.stringify({ ...MPARTICLE_MEMBER_ADDED_DATA, AudienceId: 1.5 });
    expect(error(mparticleDecoder.decode(userRecord(mparticleEnvelope(text))))).toBe(
      'mparticle: Record.Data: AudienceId: expected an integer or a string',
    );
  });

  it('keeps the envelope with Data decoded, as the reference prints it', () => {
    const [event] = events(
      mparticleDecoder.decode(userRecord(mparticleEnvelope(MPARTICLE_MEMBER_ADDED_DATA))),
    );
    expect(event?.original).toEqual({
      DeliveryStreamName: 'mPTravelAudiences',
      Record: { Data: MPARTICLE_MEMBER_ADDED_DATA },
    });
  });

  it('decodes the reference "Member Removed" message', () => {
    const [event] = events(
      mparticleDecoder.decode(userRecord(mparticleEnvelope(MPARTICLE_MEMBER_REMOVED_DATA))),
    );
    expect(event?.type).toBe('audience_member_removed');
    expect(event?.attributes['IsMember']).toBe('false');
    // The removed sample carries no device identity.
    expect(event?.deviceId).toBeNull();
  });

  it('prefers CustomerId, then Other, then Email as the user id', () => {
    const data = {
      ...MPARTICLE_MEMBER_ADDED_DATA,
      UserIdentities: { Email: 'e@x', Other: 'alias' },
    };
    const [event] = events(mparticleDecoder.decode(userRecord(mparticleEnvelope(data))));
    expect(event?.userId).toBe('alias');
  });

  it('reads a millisecond timestamp as milliseconds', () => {
    const data = { ...MPARTICLE_MEMBER_ADDED_DATA, MembershipChangedTimestamp: 1709294400000 };
    const [event] = events(mparticleDecoder.decode(userRecord(mparticleEnvelope(data))));
    expect(event?.occurred).toBe('2024-03-01T12:00:00.000Z');
  });

  it('a Unix timestamp in seconds with milliseconds keeps its millisecond (x.251 s is not .250)', () => {
    // mparticle-kinesis-audience.txt: "MembershipChangedTimestamp - Unix timestamp"; in
    // binary 1079008361.251 * 1000 is 1079008361250.9999, which truncated lost a millisecond.
    for (const stamp of ['1079008361.251', 1079008361.251, '1097795048.646', 1089143751.074]) {
      const data = { ...MPARTICLE_MEMBER_ADDED_DATA, MembershipChangedTimestamp: stamp };
      const [event] = events(mparticleDecoder.decode(userRecord(mparticleEnvelope(data))));
      const [seconds, fraction] = String(stamp).split('.');
      expect(event?.occurred).toBe(
        new Date(Number(seconds) * 1000 + Number(fraction)).toISOString(),
      );
    }
  });

  it('fails a MembershipChangedTimestamp beyond the Date range instead of occurred: null', () => {
    // mparticle-kinesis-audience.txt: "MembershipChangedTimestamp - Unix timestamp"; 1e17
    // (read as milliseconds: year ~3.2 million) is none, and its time was silently lost.
    for (const stamp of [1e17, '100000000000000000']) {
      const data = { ...MPARTICLE_MEMBER_ADDED_DATA, MembershipChangedTimestamp: stamp };
      expect(error(mparticleDecoder.decode(userRecord(mparticleEnvelope(data))))).toBe(
        'mparticle: Record.Data: MembershipChangedTimestamp: expected a Unix timestamp within the Date range',
      );
    }
  });

  it('fails Data that is not base64', () => {
    const doc = { DeliveryStreamName: 'mPTravelAudiences', Record: { Data: '{not base64}' } };
    expect(error(mparticleDecoder.decode(userRecord(doc)))).toBe(
      'mparticle: Record.Data is not valid base64',
    );
  });

  it('fails Data sent unencoded, as the reference prints it "for clarity"', () => {
    const doc = {
      DeliveryStreamName: 'mPTravelAudiences',
      Record: { Data: MPARTICLE_MEMBER_ADDED_DATA },
    };
    expect(error(mparticleDecoder.decode(userRecord(doc)))).toBe(
      'mparticle: Record.Data: expected a base64 string',
    );
  });

  it('fails base64 Data that does not hold JSON', () => {
    expect(error(mparticleDecoder.decode(userRecord(mparticleEnvelope('IsMember=true'))))).toMatch(
      /^mparticle: Record\.Data is not JSON: /,
    );
  });

  it('fails a message without IsMember, naming the field inside Data', () => {
    const { IsMember: _dropped, ...data } = MPARTICLE_MEMBER_ADDED_DATA;
    expect(error(mparticleDecoder.decode(userRecord(mparticleEnvelope(data))))).toMatch(
      /^mparticle: Record\.Data: IsMember: /,
    );
  });

  it('fails a timestamp that is not a Unix timestamp', () => {
    const data = { ...MPARTICLE_MEMBER_ADDED_DATA, MembershipChangedTimestamp: 'yesterday' };
    expect(error(mparticleDecoder.decode(userRecord(mparticleEnvelope(data))))).toBe(
      'mparticle: Record.Data: MembershipChangedTimestamp: expected a Unix timestamp',
    );
  });

  it('fails an envelope without Record', () => {
    expect(error(mparticleDecoder.decode(userRecord({ DeliveryStreamName: 'x' })))).toMatch(
      /^mparticle: Record: /,
    );
  });

  it('is claimed by a Record object holding Data', () => {
    expect(claimsMparticle({ Record: { Data: 'e30=' } })).toBe(true);
    expect(claimsMparticle({ Record: 'e30=' })).toBe(false);
    expect(claimsMparticle({ DeliveryStreamName: 'x' })).toBe(false);
  });
});
