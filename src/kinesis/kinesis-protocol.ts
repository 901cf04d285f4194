import { AwsJson1_1Protocol } from '@aws-sdk/core/protocols';
import { collectBody } from '@smithy/core/protocols';
import { BodyBuffers, isNodeReadable, plainContentLength, type ReadBody } from './body-buffers.js';
import { parseGetRecordsBody } from './get-records-body.js';

type Deserialize = AwsJson1_1Protocol['deserializeResponse'];

/**
 * The Kinesis client's wire protocol (AWS JSON 1.1) with one change: a successful
 * GetRecords response is read into a reused buffer (BodyBuffers) and by
 * parseGetRecordsBody. Requests, signing, retries, errors and every other operation stay
 * the SDK's, and so does any GetRecords body that reader leaves alone (it hands the same
 * bytes back here).
 */
export class KinesisJsonProtocol extends AwsJson1_1Protocol {
  private readonly bodies = new BodyBuffers();

  override async deserializeResponse<Output extends Awaited<ReturnType<Deserialize>>>(
    ...[operationSchema, context, response]: Parameters<Deserialize>
  ): Promise<Output> {
    if (operationSchema.name !== 'GetRecords' || response.statusCode >= 300) {
      return super.deserializeResponse(operationSchema, context, response);
    }
    const read = await this.readBody(response, context);
    try {
      const body = parseGetRecordsBody(read.bytes);
      if (body === null) {
        // The SDK reads a copy: the buffer goes back to the pool below.
        response.body = Uint8Array.from(read.bytes);
        return await super.deserializeResponse(operationSchema, context, response);
      }
      // As the SDK's reader does before reading the metadata from them.
      for (const header of Object.keys(response.headers)) {
        const value = response.headers[header];
        delete response.headers[header];
        if (value !== undefined) response.headers[header.toLowerCase()] = value;
      }
      return { ...body, $metadata: this.deserializeMetadata(response) } as unknown as Output;
    } finally {
      // parseGetRecordsBody copied out all it keeps (strings, the records' data).
      read.release();
    }
  }

  /** The body in a reused buffer when it is a plain Node stream of known length. */
  private async readBody(
    response: Parameters<Deserialize>[2],
    context: Parameters<Deserialize>[1],
  ): Promise<ReadBody> {
    const length = plainContentLength(response.headers);
    if (length !== null && isNodeReadable(response.body)) {
      return this.bodies.read(response.body, length);
    }
    const bytes = await collectBody(response.body, context);
    return {
      bytes: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength),
      release: () => undefined,
    };
  }
}
