/**
 * Encryption of every Temporal payload (workflow and activity inputs and results, heartbeat details, update and
 * query arguments): AES-256-GCM with a key picked by id, so keys can rotate. A payload is encrypted whole, its
 * metadata included, and travels as `binary/encrypted` with the key id in its own metadata; Temporal's server,
 * its database and anyone reading a history see only ciphertext.
 *
 * Every process that talks to Temporal (workers, gateway, scripts, tests, replays) installs the same data
 * converter (`payloadDataConverter`), so what one encrypts any other can read. Payloads that were never
 * encrypted (histories recorded before the codec) pass through decoding unchanged and still replay.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { METADATA_ENCODING_KEY, type DataConverter, type Payload, type PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';

/** The `encoding` of an encrypted payload (the name Temporal's samples and tools use for it). */
export const ENCRYPTED_ENCODING = 'binary/encrypted';
/** Metadata key naming the key a payload was encrypted with. */
export const KEY_ID_METADATA_KEY = 'encryption-key-id';
/** Metadata key naming the cipher, so a later change of cipher can tell old payloads apart. */
export const CIPHER_METADATA_KEY = 'encryption-cipher';
export const CIPHER = 'AES-256-GCM';

export const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
/** Key ids travel in every payload and in configuration: short, printable, no separators of the key list. */
export const KEY_ID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;

/** The keys a process knows: it encrypts with `currentKeyId`, and decrypts with any of `keys`. */
export interface PayloadKeys {
  currentKeyId: string;
  keys: ReadonlyMap<string, Buffer>;
}

export type PayloadDecodeFailure = 'UNKNOWN_KEY' | 'NOT_AUTHENTIC' | 'MALFORMED';

/** A payload that cannot be decrypted: its key is not configured, or it was altered (or is not ours). */
export class PayloadDecodeError extends Error {
  constructor(
    readonly reason: PayloadDecodeFailure,
    message: string,
  ) {
    super(message);
    this.name = 'PayloadDecodeError';
  }
}

const text = new TextEncoder();
const utf8 = new TextDecoder();

function metadataText(payload: Payload, key: string): string | undefined {
  const value = payload.metadata?.[key];
  return value ? utf8.decode(value) : undefined;
}

export function isEncrypted(payload: Payload): boolean {
  return metadataText(payload, METADATA_ENCODING_KEY) === ENCRYPTED_ENCODING;
}

/** The key id as authenticated data: ciphertext moved under another key id fails authentication. */
function associatedData(keyId: string): Buffer {
  return Buffer.from(`${CIPHER}:${keyId}`, 'utf8');
}

export class AesGcmPayloadCodec implements PayloadCodec {
  constructor(private readonly keys: PayloadKeys) {
    if (!keys.keys.has(keys.currentKeyId)) throw new Error(`the current key id "${keys.currentKeyId}" has no key`);
    for (const [id, key] of keys.keys) {
      if (!KEY_ID_PATTERN.test(id)) throw new Error(`key id "${id}" must match ${KEY_ID_PATTERN}`);
      if (key.length !== KEY_BYTES) throw new Error(`key "${id}" must be ${KEY_BYTES} bytes, not ${key.length}`);
    }
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => this.encrypt(payload));
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => (isEncrypted(payload) ? this.decrypt(payload) : payload));
  }

  private encrypt(payload: Payload): Payload {
    const keyId = this.keys.currentKeyId;
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.keys.keys.get(keyId)!, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(associatedData(keyId));
    const plain = temporal.api.common.v1.Payload.encode(payload).finish();
    const sealed = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
    return {
      metadata: {
        [METADATA_ENCODING_KEY]: text.encode(ENCRYPTED_ENCODING),
        [KEY_ID_METADATA_KEY]: text.encode(keyId),
        [CIPHER_METADATA_KEY]: text.encode(CIPHER),
      },
      data: new Uint8Array(sealed),
    };
  }

  private decrypt(payload: Payload): Payload {
    const keyId = metadataText(payload, KEY_ID_METADATA_KEY);
    if (keyId === undefined) throw new PayloadDecodeError('MALFORMED', 'an encrypted payload names no key id');
    const cipherName = metadataText(payload, CIPHER_METADATA_KEY) ?? CIPHER;
    if (cipherName !== CIPHER) {
      throw new PayloadDecodeError('MALFORMED', `a payload is encrypted with ${cipherName}, not ${CIPHER}`);
    }
    const key = this.keys.keys.get(keyId);
    if (!key) {
      throw new PayloadDecodeError(
        'UNKNOWN_KEY',
        `a payload is encrypted with key id "${keyId}", which is not configured (PAYLOAD_ENCRYPTION_KEYS)`,
      );
    }
    const sealed = Buffer.from(payload.data ?? new Uint8Array());
    if (sealed.length < IV_BYTES + TAG_BYTES) {
      throw new PayloadDecodeError('MALFORMED', `an encrypted payload of ${sealed.length} bytes is too short`);
    }
    const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, IV_BYTES), { authTagLength: TAG_BYTES });
    decipher.setAAD(associatedData(keyId));
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
    let plain: Buffer;
    try {
      plain = Buffer.concat([decipher.update(sealed.subarray(IV_BYTES, sealed.length - TAG_BYTES)), decipher.final()]);
    } catch {
      throw new PayloadDecodeError(
        'NOT_AUTHENTIC',
        `a payload encrypted with key id "${keyId}" fails authentication: it was altered, or not sealed with this key`,
      );
    }
    return temporal.api.common.v1.Payload.decode(plain);
  }
}

/**
 * The data converter every client, worker and replayer of this project uses. Only the codec differs from the
 * default: payload and failure converters stay the SDK's, so nothing changes inside the workflow sandbox.
 */
export function payloadDataConverter(keys: PayloadKeys): DataConverter {
  return dataConverterOf(new AesGcmPayloadCodec(keys));
}

/** The data converter around a codec a process already holds (the gateway also serves it at /codec). */
export function dataConverterOf(codec: PayloadCodec): DataConverter {
  return { payloadCodecs: [codec] };
}

/** `id:base64key,id:base64key` (the syntax of PAYLOAD_ENCRYPTION_KEYS) as a map; throws naming the bad entry. */
export function parseKeyList(raw: string): Map<string, Buffer> {
  const keys = new Map<string, Buffer>();
  const entries = raw
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
  if (entries.length === 0) throw new Error('must name at least one key as id:base64');
  entries.forEach((entry, index) => {
    const separator = entry.indexOf(':');
    const id = separator < 0 ? '' : entry.slice(0, separator);
    const encoded = entry.slice(separator + 1);
    if (!KEY_ID_PATTERN.test(id)) {
      throw new Error(`entry ${index + 1} must be id:base64key with an id of letters, digits, ".", "_" or "-"`);
    }
    if (keys.has(id)) throw new Error(`key id "${id}" appears twice`);
    const key = Buffer.from(encoded, 'base64');
    // Buffer.from skips characters that are not base64; a round trip catches a mangled value.
    const canonical = (value: string) => value.replace(/=+$/, '').replace(/-/g, '+').replace(/_/g, '/');
    if (key.length !== KEY_BYTES || canonical(key.toString('base64')) !== canonical(encoded)) {
      throw new Error(`key "${id}" must be ${KEY_BYTES} random bytes in base64 (openssl rand -base64 ${KEY_BYTES})`);
    }
    keys.set(id, key);
  });
  return keys;
}

/** One new key as a PAYLOAD_ENCRYPTION_KEYS entry. */
export function newKeyEntry(id: string): string {
  return `${id}:${randomBytes(KEY_BYTES).toString('base64')}`;
}
