/**
 * The payload keys of every test client, worker and replayer: fixed, so that histories the tests record (the replay
 * fixtures) stay readable by later runs. `test-2` is the current key; `test-1` an older one still configured.
 */
import { AesGcmPayloadCodec, dataConverterOf, type PayloadKeys } from '../../lib/payload-codec';

export const TEST_PAYLOAD_KEYS: PayloadKeys = {
  currentKeyId: 'test-2',
  keys: new Map([
    ['test-1', Buffer.alloc(32, 1)],
    ['test-2', Buffer.alloc(32, 2)],
  ]),
};

export const testCodec = new AesGcmPayloadCodec(TEST_PAYLOAD_KEYS);

/** What the real processes install (lib/payload-codec.ts), with the test keys. */
export const testDataConverter = dataConverterOf(testCodec);
