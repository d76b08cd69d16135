/**
 * The payload codec (lib/payload-codec.ts) and its keys, without a server: what it writes can only be read back
 * with a configured key and unaltered, keys rotate, payloads recorded before encryption pass through, and every
 * process kind refuses to run in production without keys.
 */
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { loadGatewayConfig } from '../../api/config';
import { maskCardToken } from '../../domain/card-tokens';
import { DEV_PAYLOAD_KEYS_FILE, loadPayloadKeys, loadWorkerConfig, type Env } from '../../lib/config';
import {
  AesGcmPayloadCodec,
  ENCRYPTED_ENCODING,
  KEY_ID_METADATA_KEY,
  PayloadDecodeError,
  isEncrypted,
  newKeyEntry,
  parseKeyList,
  type PayloadKeys,
} from '../../lib/payload-codec';
import { loadStartConfig } from '../../scripts/lib/start-config';

const folder = () => mkdtempSync(path.join(os.tmpdir(), 'payload-codec-test-'));
const key = (byte: number) => Buffer.alloc(32, byte);
const keys = (currentKeyId: string, entries: [string, Buffer][]): PayloadKeys => ({
  currentKeyId,
  keys: new Map(entries),
});

/** An order's input as the gateway sends it: the card token inside. */
const orderInput = (): Payload =>
  defaultPayloadConverter.toPayload({ orderId: 'o-1', customerId: 7, paymentToken: 'tok_visa', lines: [] });

const text = (payload: Payload) => Buffer.from(payload.data ?? []).toString('latin1');
const metadata = (payload: Payload, name: string) => Buffer.from(payload.metadata?.[name] ?? []).toString('utf8');

async function decodeError(codec: AesGcmPayloadCodec, payload: Payload): Promise<PayloadDecodeError> {
  const error = await codec.decode([payload]).then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  if (!(error instanceof PayloadDecodeError)) throw new Error(`expected a PayloadDecodeError, got ${String(error)}`);
  return error;
}

describe('the payload codec', () => {
  const codec = new AesGcmPayloadCodec(keys('k1', [['k1', key(1)]]));

  test('when a payload is encoded, then only ciphertext and the key id travel, and decoding gives it back whole', async () => {
    const plain = orderInput();
    const [sealed] = await codec.encode([plain]);

    expect(isEncrypted(sealed!)).toBe(true);
    expect(metadata(sealed!, 'encoding')).toBe(ENCRYPTED_ENCODING);
    expect(metadata(sealed!, KEY_ID_METADATA_KEY)).toBe('k1');
    // Neither the value nor its own metadata (json/plain) is readable in what Temporal stores.
    expect(text(sealed!)).not.toContain('tok_visa');
    expect(text(sealed!)).not.toContain('json/plain');
    const [opened] = await codec.decode([sealed!]);
    expect(defaultPayloadConverter.fromPayload(opened!)).toEqual({
      orderId: 'o-1',
      customerId: 7,
      paymentToken: 'tok_visa',
      lines: [],
    });
    expect(metadata(opened!, 'encoding')).toBe('json/plain');
  });

  test('when the same payload is encoded twice, then the ciphertexts differ (a fresh nonce each time)', async () => {
    const [first, second] = await codec.encode([orderInput(), orderInput()]);

    expect(Buffer.from(first!.data!).equals(Buffer.from(second!.data!))).toBe(false);
  });

  test('when a payload was never encrypted (a history recorded before the codec), then decoding passes it through', async () => {
    const plain = orderInput();
    const [passed] = await codec.decode([plain]);

    expect(passed).toBe(plain);
  });

  test('when keys rotate, then new payloads use the current key and payloads of the old key still decode', async () => {
    const before = new AesGcmPayloadCodec(keys('k1', [['k1', key(1)]]));
    const after = new AesGcmPayloadCodec(
      keys('k2', [
        ['k1', key(1)],
        ['k2', key(2)],
      ]),
    );
    const [old] = await before.encode([orderInput()]);
    const [fresh] = await after.encode([orderInput()]);

    expect(metadata(fresh!, KEY_ID_METADATA_KEY)).toBe('k2');
    const decoded = await after.decode([old!, fresh!]);
    expect(decoded.map((payload) => defaultPayloadConverter.fromPayload(payload))).toEqual([
      expect.objectContaining({ paymentToken: 'tok_visa' }),
      expect.objectContaining({ paymentToken: 'tok_visa' }),
    ]);
    // A process that was not given the new key yet cannot read what the rotated ones write.
    expect((await decodeError(before, fresh!)).reason).toBe('UNKNOWN_KEY');
  });

  test('when the key id is not configured, then decoding refuses and names the key id', async () => {
    const [sealed] = await new AesGcmPayloadCodec(keys('elsewhere', [['elsewhere', key(9)]])).encode([orderInput()]);

    const error = await decodeError(codec, sealed!);
    expect(error.reason).toBe('UNKNOWN_KEY');
    expect(error.message).toContain('"elsewhere"');
  });

  test('when one bit of the ciphertext is flipped, then decoding refuses it as altered', async () => {
    const [sealed] = await codec.encode([orderInput()]);
    const data = Buffer.from(sealed!.data!);
    data[20]! ^= 0x01;

    expect((await decodeError(codec, { ...sealed!, data })).reason).toBe('NOT_AUTHENTIC');
  });

  test('when the key id of a payload is changed to another configured key, then decoding refuses it', async () => {
    const both = new AesGcmPayloadCodec(
      keys('k1', [
        ['k1', key(1)],
        ['k2', key(1)],
      ]),
    );
    const [sealed] = await both.encode([orderInput()]);
    const moved = { ...sealed!, metadata: { ...sealed!.metadata, [KEY_ID_METADATA_KEY]: Buffer.from('k2') } };

    // Same key bytes under another id: only the authenticated key id tells them apart.
    expect((await decodeError(both, moved)).reason).toBe('NOT_AUTHENTIC');
  });

  test('when an encrypted payload is cut short or names no key, then decoding refuses it as malformed', async () => {
    const [sealed] = await codec.encode([orderInput()]);

    expect((await decodeError(codec, { ...sealed!, data: Buffer.alloc(10) })).reason).toBe('MALFORMED');
    const { [KEY_ID_METADATA_KEY]: _dropped, ...withoutKeyId } = sealed!.metadata!;
    expect((await decodeError(codec, { ...sealed!, metadata: withoutKeyId })).reason).toBe('MALFORMED');
  });

  test('when a codec is built with a current key id that has no key, or a short key, then it refuses', () => {
    expect(() => new AesGcmPayloadCodec(keys('k2', [['k1', key(1)]]))).toThrow('"k2" has no key');
    expect(() => new AesGcmPayloadCodec(keys('k1', [['k1', Buffer.alloc(16)]]))).toThrow('must be 32 bytes');
  });
});

describe('PAYLOAD_ENCRYPTION_KEYS', () => {
  const entry = (id: string, byte: number) => `${id}:${key(byte).toString('base64')}`;

  test('when keys are listed as id:base64, then each is read, and a new entry has that form', () => {
    const parsed = parseKeyList(`${entry('2024-a', 1)}, ${entry('2025.b', 2)}`);

    expect([...parsed.keys()]).toEqual(['2024-a', '2025.b']);
    expect(parsed.get('2025.b')).toEqual(key(2));
    expect(parseKeyList(newKeyEntry('fresh')).get('fresh')).toHaveLength(32);
  });

  test('when an entry is malformed, then it refuses without echoing any key material', () => {
    const short = `k1:${Buffer.alloc(16, 7).toString('base64')}`;
    expect(() => parseKeyList(short)).toThrow('key "k1" must be 32 random bytes in base64');
    expect(() => parseKeyList('no-separator')).toThrow('entry 1 must be id:base64key');
    expect(() => parseKeyList(`${entry('k1', 1)},${entry('k1', 2)}`)).toThrow('key id "k1" appears twice');
    expect(() => parseKeyList(`k1:${key(1).toString('base64')}!!`)).toThrow('must be 32 random bytes');

    const env: Env = { PAYLOAD_ENCRYPTION_KEYS: short, DATA_DIR: folder() };
    const error = (() => {
      try {
        loadPayloadKeys(env);
      } catch (thrown) {
        return thrown as Error;
      }
    })();
    expect(error?.message).toContain('PAYLOAD_ENCRYPTION_KEYS key "k1" must be 32 random bytes');
    expect(error?.message).not.toContain(short.split(':')[1]);
  });

  test('when several keys are configured, then the current one must be named, and be one of them', () => {
    const two = `${entry('k1', 1)},${entry('k2', 2)}`;

    expect(() => loadPayloadKeys({ PAYLOAD_ENCRYPTION_KEYS: two })).toThrow(
      'PAYLOAD_ENCRYPTION_KEY_ID must name the key to encrypt with, one of k1, k2',
    );
    expect(() => loadPayloadKeys({ PAYLOAD_ENCRYPTION_KEYS: two, PAYLOAD_ENCRYPTION_KEY_ID: 'k3' })).toThrow(
      'PAYLOAD_ENCRYPTION_KEY_ID "k3" is not among the keys',
    );
    expect(loadPayloadKeys({ PAYLOAD_ENCRYPTION_KEYS: two, PAYLOAD_ENCRYPTION_KEY_ID: 'k2' }).currentKeyId).toBe('k2');
    expect(loadPayloadKeys({ PAYLOAD_ENCRYPTION_KEYS: entry('only', 3) }).currentKeyId).toBe('only');
  });

  test('when nothing is configured outside production, then one development key is kept in the data folder (0600) and reused', () => {
    const dataDir = folder();

    const first = loadPayloadKeys({ DATA_DIR: dataDir });
    const second = loadPayloadKeys({ DATA_DIR: dataDir });
    expect(second.currentKeyId).toBe(first.currentKeyId);
    expect(second.keys.get(second.currentKeyId)).toEqual(first.keys.get(first.currentKeyId));
    const file = path.join(dataDir, 'secrets', DEV_PAYLOAD_KEYS_FILE);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(path.dirname(file)).mode & 0o777).toBe(0o700);
    expect(readFileSync(file, 'utf8')).toMatch(new RegExp(`^${first.currentKeyId}:`));
  });

  test('when NODE_ENV is production without keys, then every process kind refuses to start', () => {
    const production: Env = {
      NODE_ENV: 'production',
      DATA_DIR: folder(),
      JWT_SECRET: 'a-production-secret-that-is-long-enough-0123456789',
    };
    const refusal = /PAYLOAD_ENCRYPTION_KEYS must be set in production/;

    expect(() => loadWorkerConfig('payment', production)).toThrow(refusal);
    expect(() => loadGatewayConfig(production)).toThrow(refusal);
    expect(() => loadStartConfig(production)).toThrow(refusal);
    expect(loadWorkerConfig('payment', { ...production, PAYLOAD_ENCRYPTION_KEYS: entry('p1', 4) }).payloadKeys).toEqual(
      { currentKeyId: 'p1', keys: new Map([['p1', key(4)]]) },
    );
  });
});

describe('card tokens where encryption does not reach', () => {
  test('when a token is masked, then at most its last four characters remain', () => {
    expect(maskCardToken('tok_visa')).toBe('****visa');
    expect(maskCardToken('tok_1N3T00LkdIwHu7ixe9G2ojl')).toBe('****2ojl');
    expect(maskCardToken('tok_x')).toBe('****');
  });
});
