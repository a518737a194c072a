/**
 * The AES-256-GCM payload codec: round trip, key rotation, unknown key ids, tampering, and the key-list format.
 */
import { randomBytes } from 'node:crypto';
import { defaultPayloadConverter } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { EncryptionCodec, KEY_ID_METADATA, parseCodecKeys } from '../../runtime/payload-codec.js';

const b64 = () => randomBytes(32).toString('base64');
const k1 = b64();
const k2 = b64();
const payload = defaultPayloadConverter.toPayload({ text: 'the user said something private' });

describe('EncryptionCodec', () => {
  it('encrypts with the first key and decrypts back to the same payload', async () => {
    const codec = new EncryptionCodec(parseCodecKeys(`k2:${k2},k1:${k1}`)!);
    const [enc] = await codec.encode([payload]);
    expect(Buffer.from(enc!.metadata![KEY_ID_METADATA]!).toString()).toBe('k2');
    expect(Buffer.from(enc!.data!).toString('latin1')).not.toContain('private');
    const [dec] = await codec.decode([enc!]);
    expect(defaultPayloadConverter.fromPayload(dec!)).toEqual({ text: 'the user said something private' });
    // A fresh IV per payload: the same value never encrypts to the same bytes.
    const [again] = await codec.encode([payload]);
    expect(Buffer.from(again!.data!).equals(Buffer.from(enc!.data!))).toBe(false);
  });

  it('rotates: payloads of the old key still decode; unknown ids and altered data fail clearly', async () => {
    const [old] = await new EncryptionCodec(parseCodecKeys(`k1:${k1}`)!).encode([payload]);
    const rotated = new EncryptionCodec(parseCodecKeys(`k2:${k2},k1:${k1}`)!);
    expect(defaultPayloadConverter.fromPayload((await rotated.decode([old!]))[0]!)).toEqual({ text: 'the user said something private' });
    const onlyNew = new EncryptionCodec(parseCodecKeys(`k2:${k2}`)!);
    await expect(onlyNew.decode([old!])).rejects.toMatchObject({ code: 'CODEC_KEY_UNKNOWN', message: expect.stringMatching(/key id "k1".*known ids: k2/) });
    const tampered = { ...old!, data: Buffer.from(old!.data!).fill(0, 20, 21) };
    await expect(rotated.decode([tampered])).rejects.toMatchObject({ code: 'CODEC_DECRYPT_FAILED' });
    const wrongBytes = new EncryptionCodec([{ id: 'k1', key: randomBytes(32) }]);
    await expect(wrongBytes.decode([old!])).rejects.toMatchObject({ code: 'CODEC_DECRYPT_FAILED' });
    // Unencrypted payloads (history from before the codec was on) pass through.
    expect(await rotated.decode([payload])).toEqual([payload]);
  });

  it('parses STEPWISE_CODEC_KEYS strictly, never echoing key bytes', () => {
    expect(parseCodecKeys(undefined)).toBeUndefined();
    expect(parseCodecKeys('  ')).toBeUndefined();
    expect(parseCodecKeys(`a:${k1}, b:${k2}`)!.map((k) => k.id)).toEqual(['a', 'b']);
    const short = randomBytes(16).toString('base64');
    expect(() => parseCodecKeys(`a:${short}`)).toThrow(/key a: expected 32 bytes/);
    expect(() => parseCodecKeys(`a:${short}`)).not.toThrow(new RegExp(short.replace(/[+/=]/g, '.')));
    expect(() => parseCodecKeys(k1)).toThrow(/entry 1: expected <id>:<base64 key>/);
    expect(() => parseCodecKeys(`a:${k1},a:${k2}`)).toThrow(/key id a is listed twice/);
    expect(() => parseCodecKeys(`a b:${k1}`)).toThrow(/entry 1/);
  });
});
