import { existsSync, unlinkSync } from 'node:fs';
import decodePage from '../../src/pipeline/workers/decode-worker.js';
import { unpackPage } from '../../src/pipeline/workers/page-codec.js';

/**
 * A decode worker whose thread exits on purpose, for tests of a worker crash: on every
 * page holding a record with the partition key `crash-the-worker`, and on the first page
 * holding one keyed `crash-once:<file>` while that file exists (it removes the file).
 */
export default function crashingDecodePage(page: ArrayBuffer): ReturnType<typeof decodePage> {
  for (const { partitionKey } of unpackPage(page)) {
    if (partitionKey === 'crash-the-worker') process.exit(1);
    if (partitionKey.startsWith('crash-once:')) {
      const flag = partitionKey.slice('crash-once:'.length);
      if (existsSync(flag)) {
        unlinkSync(flag);
        process.exit(1);
      }
    }
  }
  return decodePage(page);
}
