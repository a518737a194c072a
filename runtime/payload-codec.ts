/**
 * Encrypted payloads: a Temporal `PayloadCodec` that encrypts every payload (workflow input, update arguments and
 * results, activity inputs and results, memo, activity summaries) with AES-256-GCM before it leaves the process, so
 * user text, model output and tool results are ciphertext in Temporal's history. Used by the worker, the API's
 * Temporal client, `stepwise dev`, and the API's codec endpoint (`api/routes/codec.ts`) that the Temporal UI calls to
 * show them decoded.
 *
 * Format (the one of temporalio/samples-typescript `encryption/`): an encoded payload has metadata
 * `encoding: binary/encrypted` and `encryption-key-id: <key id>`; its data is `iv (12 bytes) || ciphertext || GCM tag
 * (16 bytes)` of the length-delimited protobuf of the original payload (metadata included). Payloads without that
 * encoding pass through decode unchanged, so histories written before the codec was turned on still read.
 *
 * Keys: `STEPWISE_CODEC_KEYS="k2:<base64 32 bytes>,k1:<base64 32 bytes>"`; the first is current (encrypts), every
 * listed key decrypts, which is how keys rotate. Crypto is node:crypto's AES-256-GCM (`createCipheriv`), a random
 * 96-bit IV per payload (NIST SP 800-38D §8.2.2 random IV construction). Node only: codecs run outside the workflow
 * sandbox.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { METADATA_ENCODING_KEY, type Payload, type PayloadCodec } from '@temporalio/common';
import proto from '@temporalio/proto';
import { StepwiseError } from '../src/errors.js';

/** `encoding` metadata value of an encrypted payload. */
export const ENCRYPTED_ENCODING = 'binary/encrypted';
/** Metadata key naming the key that encrypted a payload. */
export const KEY_ID_METADATA = 'encryption-key-id';

const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;
const KEY_ID = /^[A-Za-z0-9._-]{1,64}$/;
// A CommonJS package: Node's ESM loader gives it as a default export only.
const { Payload: PayloadProto } = proto.temporal.api.common.v1;

/** One AES-256 key and its id (`id` goes into every payload it encrypts; the key never leaves the process). */
export interface CodecKey {
  id: string;
  key: Buffer;
}

/**
 * Parses `STEPWISE_CODEC_KEYS`: comma-separated `<id>:<base64 key>`, first = current. Ids are 1-64 of
 * `[A-Za-z0-9._-]`; keys decode to exactly 32 bytes (e.g. `openssl rand -base64 32`).
 *
 * @returns the keys in order, or `undefined` when `value` is unset/empty (codec off).
 * @throws StepwiseError INVALID_CONFIG (not retryable) naming the bad entry by position and id, never the key bytes.
 */
export function parseCodecKeys(value: string | undefined): CodecKey[] | undefined {
  if (!value?.trim()) return undefined;
  const keys = value.split(',').map((entry, i) => {
    const at = entry.indexOf(':');
    const id = (at < 0 ? entry : entry.slice(0, at)).trim();
    if (at < 0 || !KEY_ID.test(id)) {
      throw new StepwiseError('INVALID_CONFIG', `STEPWISE_CODEC_KEYS entry ${i + 1}: expected <id>:<base64 key> with an id of 1-64 [A-Za-z0-9._-]`);
    }
    const raw = entry.slice(at + 1).trim();
    const key = Buffer.from(raw, 'base64');
    if (key.length !== KEY_BYTES || !/^[A-Za-z0-9+/]+={0,2}$/.test(raw)) {
      throw new StepwiseError('INVALID_CONFIG', `STEPWISE_CODEC_KEYS key ${id}: expected ${KEY_BYTES} bytes in base64 (e.g. openssl rand -base64 32), got ${key.length}`);
    }
    return { id, key };
  });
  const ids = keys.map((k) => k.id);
  const dup = ids.find((id, i) => ids.indexOf(id) !== i);
  if (dup) throw new StepwiseError('INVALID_CONFIG', `STEPWISE_CODEC_KEYS: key id ${dup} is listed twice`);
  return keys;
}

/**
 * AES-256-GCM payload codec with key rotation: encrypts with the first key, decrypts with whichever key the payload
 * names.
 */
export class EncryptionCodec implements PayloadCodec {
  private readonly current: CodecKey;
  private readonly byId: ReadonlyMap<string, Buffer>;

  /** @throws Error when `keys` is empty. */
  constructor(keys: readonly CodecKey[]) {
    if (keys.length === 0) throw new Error('EncryptionCodec needs at least one key');
    this.current = keys[0]!;
    this.byId = new Map(keys.map((k) => [k.id, k.key]));
  }

  /** Id of the key new payloads are encrypted with. */
  get currentKeyId(): string {
    return this.current.id;
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', this.current.key, iv);
      const plain = PayloadProto.encodeDelimited(payload).finish();
      const data = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
      return {
        metadata: { [METADATA_ENCODING_KEY]: utf8(ENCRYPTED_ENCODING), [KEY_ID_METADATA]: utf8(this.current.id) },
        data,
      };
    });
  }

  /**
   * @throws StepwiseError CODEC_KEY_UNKNOWN (not retryable until the key is configured) for a payload encrypted with
   *   a key id this process does not have; CODEC_DECRYPT_FAILED (not retryable) for data that does not authenticate
   *   (wrong key bytes, tampered or truncated ciphertext).
   */
  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      if (text(payload.metadata?.[METADATA_ENCODING_KEY]) !== ENCRYPTED_ENCODING) return payload;
      const keyId = text(payload.metadata?.[KEY_ID_METADATA]);
      const key = keyId === undefined ? undefined : this.byId.get(keyId);
      if (!key) {
        throw new StepwiseError(
          'CODEC_KEY_UNKNOWN',
          `payload was encrypted with key id ${keyId === undefined ? '(none)' : JSON.stringify(keyId)}, which is not in STEPWISE_CODEC_KEYS (known ids: ${[...this.byId.keys()].join(', ')})`,
          { keyId: keyId ?? null, knownKeyIds: [...this.byId.keys()] },
        );
      }
      const data = Buffer.from(payload.data ?? new Uint8Array());
      if (data.length < IV_BYTES + TAG_BYTES) throw decryptFailed(keyId!, 'data too short');
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, IV_BYTES));
        decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
        const plain = Buffer.concat([decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)), decipher.final()]);
        return PayloadProto.decodeDelimited(plain) as Payload;
      } catch {
        throw decryptFailed(keyId!, 'authentication failed (wrong key bytes or altered data)');
      }
    });
  }
}

function decryptFailed(keyId: string, why: string): StepwiseError {
  return new StepwiseError('CODEC_DECRYPT_FAILED', `payload encrypted with key id ${JSON.stringify(keyId)} could not be decrypted: ${why}`, { keyId });
}

function utf8(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s, 'utf8'));
}

function text(bytes: Uint8Array | null | undefined): string | undefined {
  return bytes ? Buffer.from(bytes).toString('utf8') : undefined;
}

/**
 * The codec configured by `env.STEPWISE_CODEC_KEYS`, or `undefined` when it is unset (payloads stay plain JSON).
 *
 * @throws StepwiseError INVALID_CONFIG for a malformed value (see {@link parseCodecKeys}).
 */
export function codecFromEnv(env: NodeJS.ProcessEnv = process.env): EncryptionCodec | undefined {
  const keys = parseCodecKeys(env.STEPWISE_CODEC_KEYS);
  return keys ? new EncryptionCodec(keys) : undefined;
}

/** `dataConverter` option for a Temporal `Client` or `Worker`: the codec when on, nothing otherwise. */
export function codecDataConverter(codec: PayloadCodec | undefined): { dataConverter?: { payloadCodecs: PayloadCodec[] } } {
  return codec ? { dataConverter: { payloadCodecs: [codec] } } : {};
}
