import { describe, expect, it } from 'vitest';
import type { JsonValue } from '../core/event.js';
import { describeIssues } from './schema-issues.js';
import { PINPOINT_APP_EVENT, PINPOINT_SMS_EVENT, userRecord } from './fixtures/samples.js';
import { positionId } from './record-id.js';
import { decodePinpointValue, appEventSchema, smsEventSchema } from './pinpoint.js';
import { acceptsAppEvent, acceptsSmsEvent } from './pinpoint-shape.js';
import { isJsonObject, type JsonObject } from './values.js';

/*
 * The fast checks may accept only what zod accepts; with zod deciding every rejection,
 * the decoder's output — events and error texts — is then what the zod-only decoder gave.
 * Mutants: every field (and every field of the nested objects the schemas look into)
 * missing or replaced by values of every JSON type, including the edge cases zod and a
 * hand check could disagree on (Infinity from 1e400, negative, fractional, digit strings).
 */
const ODD_VALUES: readonly JsonValue[] = [
  null,
  true,
  0,
  -1,
  1.5,
  JSON.parse('1e400') as number,
  '',
  'x',
  '123',
  '-123',
  '12a',
  [],
  ['a'],
  {},
  { a: 1 },
  { a: 'b', c: null, d: true },
  { a: { nested: 1 } },
  { a: [1] },
  { a: JSON.parse('1e400') as number },
  { a: '1' },
];

function mutants(doc: JsonObject): JsonObject[] {
  const out: JsonObject[] = [doc];
  const keys = new Set([...Object.keys(doc), 'unknown_key']);
  for (const key of keys) {
    const { [key]: _dropped, ...without } = doc;
    out.push(without);
    for (const odd of ODD_VALUES) out.push({ ...doc, [key]: odd });
    const inner = doc[key];
    if (isJsonObject(inner)) {
      for (const innerDoc of mutants0(inner)) out.push({ ...doc, [key]: innerDoc });
    }
  }
  return out;
}

/** One level of mutation of a nested object (application, client, attributes ...). */
function mutants0(doc: JsonObject): JsonObject[] {
  const out: JsonObject[] = [];
  for (const key of new Set([...Object.keys(doc), 'app_id', 'client_id', 'cognito_id', 'k'])) {
    const { [key]: _dropped, ...without } = doc;
    out.push(without);
    for (const odd of ODD_VALUES) out.push({ ...doc, [key]: odd });
  }
  return out;
}

/** The decoder as it was: zod parses every event. */
function zodOnly(value: JsonObject, sms: boolean): string | null {
  const parsed = (sms ? smsEventSchema : appEventSchema).safeParse(value);
  return parsed.success
    ? null
    : describeIssues(sms ? 'pinpoint (SMS event)' : 'pinpoint', parsed.error);
}

const appDoc = PINPOINT_APP_EVENT as unknown as JsonObject;
const smsDoc = PINPOINT_SMS_EVENT as unknown as JsonObject;
const withAttributes: JsonObject = {
  ...appDoc,
  attributes: { plan: 'pro', count: 3, flag: true, none: null },
  metrics: { price: 1.5, n: 0 },
};

describe('pinpoint fast acceptance', () => {
  for (const [name, base, sms] of [
    ['app event', appDoc, false],
    ['app event with attributes and metrics', withAttributes, false],
    ['SMS event', smsDoc, true],
  ] as const) {
    it(`accepts only what zod accepts, and decodes exactly as the zod-only decoder (${name})`, () => {
      const check = sms ? acceptsSmsEvent : acceptsAppEvent;
      const cases = mutants(base).filter(
        (doc) =>
          !sms || typeof doc['event_type'] !== 'string' || doc['event_type'] === base['event_type'],
      );
      expect(cases.length).toBeGreaterThan(200);
      let fastAccepted = 0;
      for (const doc of cases) {
        const zodError = zodOnly(doc, sms);
        if (check(doc)) {
          fastAccepted += 1;
          expect({ doc, zodError }).toEqual({ doc, zodError: null });
        }
        const record = userRecord(doc);
        const result = decodePinpointValue(doc, record, positionId);
        if (zodError === null) {
          expect(result.ok, JSON.stringify(doc)).toBe(true);
          if (result.ok) {
            const parsed = (sms ? smsEventSchema : appEventSchema).parse(doc);
            expect(result.events[0]?.type).toBe(parsed.event_type);
          }
        } else if (isSmsLike(doc) === sms) {
          expect(result).toEqual({ ok: false, error: zodError });
        }
      }
      // The reference events and most harmless mutants take the fast path.
      expect(fastAccepted).toBeGreaterThan(cases.length / 4);
    });
  }
});

function isSmsLike(doc: JsonObject): boolean {
  const type = doc['event_type'];
  return (
    typeof type === 'string' &&
    type.length > 5 &&
    type.slice(0, 5).toLowerCase() === '_sms.' &&
    ('application_key' in doc || !('application' in doc))
  );
}
