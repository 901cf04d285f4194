import { AwsJson1_1Protocol } from '@aws-sdk/core/protocols';
import { collectBody } from '@smithy/core/protocols';
import { parseGetRecordsBody } from './get-records-body.js';

type Deserialize = AwsJson1_1Protocol['deserializeResponse'];

/**
 * Set on the handler context of a GetRecords call whose body should come back as bytes
 * (`RawGetRecordsOutput`), to be read off the main thread (src/pipeline/workers).
 */
export const RAW_GET_RECORDS = Symbol('kinesis-relay raw GetRecords body');

/** A successful GetRecords answer, its body unread. */
export interface RawGetRecordsOutput {
  readonly RawBody: Uint8Array;
}

/**
 * The Kinesis client's wire protocol (AWS JSON 1.1) with one change: a successful
 * GetRecords response is read by parseGetRecordsBody. Requests, signing, retries, errors
 * and every other operation stay the SDK's, and so does any GetRecords body that reader
 * leaves alone (it hands the same bytes back here).
 */
export class KinesisJsonProtocol extends AwsJson1_1Protocol {
  override async deserializeResponse<Output extends Awaited<ReturnType<Deserialize>>>(
    ...[operationSchema, context, response]: Parameters<Deserialize>
  ): Promise<Output> {
    if (operationSchema.name !== 'GetRecords' || response.statusCode >= 300) {
      return super.deserializeResponse(operationSchema, context, response);
    }
    const bytes = await collectBody(response.body, context);
    if ((context as { [RAW_GET_RECORDS]?: boolean })[RAW_GET_RECORDS] === true) {
      const raw: RawGetRecordsOutput = { RawBody: bytes };
      return { ...raw, $metadata: this.deserializeMetadata(response) } as unknown as Output;
    }
    const body = parseGetRecordsBody(bytes);
    if (body === null) {
      response.body = bytes;
      return super.deserializeResponse(operationSchema, context, response);
    }
    // As the SDK's reader does before reading the metadata from them.
    for (const header of Object.keys(response.headers)) {
      const value = response.headers[header];
      delete response.headers[header];
      if (value !== undefined) response.headers[header.toLowerCase()] = value;
    }
    return { ...body, $metadata: this.deserializeMetadata(response) } as unknown as Output;
  }
}
