import decodePage from '../../src/pipeline/workers/decode-worker.js';
import { unpackPage } from '../../src/pipeline/workers/page-codec.js';

/**
 * A decode worker that dies (its thread exits) on a page holding a record with the
 * partition key `crash-the-worker`, every time it sees one.
 * Tests use it to see a worker crash fail the page's shard loop, not the process.
 */
export default function crashingDecodePage(page: ArrayBuffer): ReturnType<typeof decodePage> {
  if (unpackPage(page).some((record) => record.partitionKey === 'crash-the-worker')) {
    process.exit(1);
  }
  return decodePage(page);
}
