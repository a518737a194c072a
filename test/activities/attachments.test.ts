/**
 * Files in prompts through the `decide` activity as the worker builds it (`createActivities` + `ModelCache` + an
 * archive): stored files are read from the archive, URL files pass as URLs, and the official OpenAI (Chat
 * Completions and Responses) and Anthropic SDKs send them to the fake model server in each API's shape. Models and
 * files that cannot go together fail with a clear non-retryable failure, never a crash.
 */
import { describe, expect, it } from 'vitest';
import { createActivities } from '../../activities/index.js';
import { toAnthropicMessages } from '../../activities/models/anthropic.js';
import { FILES_NOT_SUPPORTED, type ResolvedFile, StoredFileCache } from '../../activities/models/attachments.js';
import { ModelCache } from '../../activities/models/model.js';
import { toOpenAIRequest } from '../../activities/models/openai.js';
import { InMemoryArchiveStore } from '../../archive/memory-store.js';
import type { LlmConfig } from '../../src/config/agent.js';
import { type FileRef, takesFiles } from '../../src/engine/files.js';
import type { DecideRequest } from '../../src/engine/types.js';
import { SystemError } from '../../src/errors.js';
import { useFakeModelServer } from '../support/fake-model-suite.js';
import { failureOf } from '../support/failures.js';
import { mediaParts, PDF_MINIMAL, PNG_1X1 } from '../support/model-attachments.js';
import { sampleDecideRequest } from '../support/model-requests.js';

const fake = useFakeModelServer();
const models = () => new ModelCache({ env: { TEST_KEY: 'sk-test-files' } });
const PNG_B64 = PNG_1X1.toString('base64');
const PDF_B64 = PDF_MINIMAL.toString('base64');
const IMAGE_URL = 'https://images.example.com/cat.png';

/** An archive holding a PNG and a PDF of session `sess-1`, and their references. */
async function archiveWithFiles() {
  const archive = new InMemoryArchiveStore();
  const png = await archive.putFile({ sessionId: 'sess-1', mediaType: 'image/png', name: 'cat.png', bytes: PNG_1X1 });
  const pdf = await archive.putFile({ sessionId: 'sess-1', mediaType: 'application/pdf', name: 'menu.pdf', bytes: PDF_MINIMAL });
  const refs: FileRef[] = [
    { fileId: png.fileId, mediaType: 'image/png', name: 'cat.png', size: png.size },
    { fileId: pdf.fileId, mediaType: 'application/pdf', name: 'menu.pdf', size: pdf.size },
  ];
  return { archive, refs };
}

function withFiles(llm: LlmConfig, files: FileRef[]): DecideRequest {
  const req = sampleDecideRequest(llm);
  return { ...req, messages: [req.messages[0]!, { role: 'user', content: 'What is in these?', files }] };
}

const openai = (over: Partial<LlmConfig> = {}): LlmConfig => ({ provider: 'openai', model: 'gpt-test', baseUrl: fake.server.openaiBaseUrl, apiKeyEnv: 'TEST_KEY', ...over });
const anthropic = (): LlmConfig => ({ provider: 'anthropic', model: 'claude-test', baseUrl: fake.server.anthropicBaseUrl, apiKeyEnv: 'TEST_KEY' });

describe('decide with files, through the real SDKs', () => {
  it('Chat Completions: images as image_url (data: URL for a stored file, the URL as given), PDFs as inline file parts', async () => {
    const { archive, refs } = await archiveWithFiles();
    const activities = createActivities({ models: models(), tools: new Map(), archive });
    fake.server.enqueue({ action: 'RESPOND', response: 'A cat and a menu.' });
    const url: FileRef = { fileId: 'u-1', mediaType: 'image/jpeg', url: IMAGE_URL };
    const out = await activities.decide(withFiles(openai(), [...refs, url]));
    expect(out.decision).toEqual({ action: 'RESPOND', response: 'A cat and a menu.' });
    const [request] = fake.server.requests;
    expect(request!.path).toBe('/v1/chat/completions');
    expect(request!.body.messages.at(-1).content[0]).toEqual({ type: 'text', text: 'What is in these?' });
    expect(mediaParts(request!)).toEqual([
      { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG_B64}` } },
      { type: 'file', file: { file_data: `data:application/pdf;base64,${PDF_B64}`, filename: 'menu.pdf' } },
      { type: 'image_url', image_url: { url: IMAGE_URL } },
    ]);
    // The system message stays a plain string.
    expect(typeof request!.body.messages[0].content).toBe('string');
  });

  it('Responses API: input_text, input_image and input_file parts', async () => {
    const { archive, refs } = await archiveWithFiles();
    const activities = createActivities({ models: models(), tools: new Map(), archive });
    fake.server.enqueue({ action: 'RESPOND', response: 'ok' });
    await activities.decide(withFiles(openai({ apiType: 'responses' }), [...refs, { fileId: 'u-2', mediaType: 'application/pdf', url: 'https://example.com/a.pdf' }]));
    const [request] = fake.server.requests;
    expect(request!.path).toBe('/v1/responses');
    expect(request!.body.input.at(-1).content[0]).toEqual({ type: 'input_text', text: 'What is in these?' });
    expect(mediaParts(request!)).toEqual([
      { type: 'input_image', image_url: `data:image/png;base64,${PNG_B64}`, detail: 'auto' },
      { type: 'input_file', filename: 'menu.pdf', file_data: `data:application/pdf;base64,${PDF_B64}` },
      { type: 'input_file', filename: 'u-2', file_url: 'https://example.com/a.pdf' },
    ]);
  });

  it('Anthropic: image and document blocks, base64 for stored files and url sources for URLs, after the text', async () => {
    const { archive, refs } = await archiveWithFiles();
    const activities = createActivities({ models: models(), tools: new Map(), archive });
    fake.server.enqueue({ action: 'RESPOND', response: 'ok' });
    await activities.decide(withFiles(anthropic(), [...refs, { fileId: 'u-3', mediaType: 'image/png', url: IMAGE_URL }]));
    const [request] = fake.server.requests;
    expect(request!.path).toBe('/v1/messages');
    expect(request!.body.messages.at(-1).content[0]).toEqual({ type: 'text', text: 'What is in these?' });
    expect(mediaParts(request!)).toEqual([
      { type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG_B64 } },
      { type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: PDF_B64 } },
      { type: 'image', source: { type: 'url', url: IMAGE_URL } },
    ]);
  });

  it('streams too (onToken): the same parts reach the server', async () => {
    const { archive, refs } = await archiveWithFiles();
    const tokens: string[] = [];
    const activities = createActivities({ models: models(), tools: new Map(), archive, publishToken: (_s, t) => tokens.push(t) });
    fake.server.enqueue({ action: 'RESPOND', response: 'streamed' });
    await activities.decide(withFiles(openai(), refs.slice(0, 1)));
    expect(fake.server.requests[0]!.body.stream).toBe(true);
    expect(mediaParts(fake.server.requests[0]!)).toHaveLength(1);
    expect(tokens.join('')).toContain('streamed');
  });
});

describe('the worker\'s stored-file cache', () => {
  it('reads a stored file from the archive once for several decisions', async () => {
    const { archive, refs } = await archiveWithFiles();
    let reads = 0;
    const getFile = archive.getFile.bind(archive);
    archive.getFile = async (sessionId, fileId) => {
      reads++;
      return getFile(sessionId, fileId);
    };
    const activities = createActivities({ models: models(), tools: new Map(), archive });
    for (let i = 0; i < 3; i++) fake.server.enqueue({ action: 'RESPOND', response: `ok ${i}` });
    for (let i = 0; i < 3; i++) await activities.decide(withFiles(openai(), refs));
    expect(reads).toBe(2); // the PNG and the PDF, once each
    expect(fake.server.requests.map((r) => mediaParts(r).length)).toEqual([2, 2, 2]);
  });

  it('keeps at most maxChars of base64, dropping the least recently used first', () => {
    const cache = new StoredFileCache(10);
    cache.set('s', 'a', '1234');
    cache.set('s', 'b', '5678');
    expect(cache.get('s', 'a')).toBe('1234'); // a is now the newest
    cache.set('s', 'c', '90ab');
    expect([cache.get('s', 'a'), cache.get('s', 'b'), cache.get('s', 'c')]).toEqual(['1234', undefined, '90ab']);
    expect(cache.chars).toBe(8);
    cache.set('s', 'huge', 'x'.repeat(11)); // larger than the whole cache: not kept, nothing dropped
    expect([cache.get('s', 'huge'), cache.chars]).toEqual([undefined, 8]);
    expect(cache.get('other', 'a')).toBeUndefined(); // sessions apart
  });
});

describe('decide with files it cannot send', () => {
  it('a provider that takes no files (scripted, openai-compatible): FILES_NOT_SUPPORTED, non-retryable, no call made', async () => {
    const activities = createActivities({ models: models(), tools: new Map(), archive: new InMemoryArchiveStore() });
    const url: FileRef = { fileId: 'u-1', mediaType: 'image/png', url: IMAGE_URL };
    for (const llm of [{ provider: 'scripted', script: '/dev/null' }, { provider: 'openai-compatible', model: 'm', baseUrl: fake.server.openaiBaseUrl }] as LlmConfig[]) {
      expect(takesFiles(llm)).toBe(false);
      const failure = await failureOf(() => activities.decide(withFiles(llm, [url])));
      expect(failure.type).toBe(FILES_NOT_SUPPORTED);
      expect(failure.nonRetryable).toBe(true);
      expect(failure.message).toContain(`the ${llm.provider} model cannot take this file`);
    }
    expect(fake.server.requests).toHaveLength(0);
  });

  it('a stored file the archive does not have: NOT_FOUND; no archive: FILE_STORAGE_UNAVAILABLE; archive down: retryable', async () => {
    const missing: FileRef = { fileId: 'f-00000000000000000000000000000000', mediaType: 'image/png' };
    const none = await failureOf(() => createActivities({ models: models(), tools: new Map(), archive: new InMemoryArchiveStore() }).decide(withFiles(openai(), [missing])));
    expect([none.type, none.nonRetryable]).toEqual(['NOT_FOUND', true]);
    const off = await failureOf(() => createActivities({ models: models(), tools: new Map() }).decide(withFiles(openai(), [missing])));
    expect([off.type, off.nonRetryable]).toEqual(['FILE_STORAGE_UNAVAILABLE', true]);
    const down = new InMemoryArchiveStore();
    down.getFile = async () => {
      throw new SystemError('ARCHIVE_UNAVAILABLE', 'db down');
    };
    const failed = await failureOf(() => createActivities({ models: models(), tools: new Map(), archive: down }).decide(withFiles(openai(), [missing])));
    expect([failed.type, failed.nonRetryable]).toEqual(['ARCHIVE_UNAVAILABLE', false]);
    expect(fake.server.requests).toHaveLength(0);
  });

  it('a file type the API cannot take: Chat Completions and a PDF URL, Anthropic and an SVG', () => {
    const pdfUrl: ResolvedFile = { fileId: 'u-1', mediaType: 'application/pdf', url: 'https://example.com/a.pdf' };
    const chat = withFiles(openai(), [pdfUrl]);
    expect(() => toOpenAIRequest(chat, new Map([[pdfUrl.fileId, pdfUrl]]))).toThrow(/takes PDFs inline only/);
    const svg: ResolvedFile = { fileId: 'f-1', mediaType: 'image/svg+xml', data: 'PHN2Zy8+' };
    const messages = withFiles(anthropic(), [svg]).messages;
    expect(() => toAnthropicMessages(messages, new Map([[svg.fileId, svg]]))).toThrow(/JPEG, PNG, GIF and WebP images, not image\/svg\+xml/);
  });

  it('Anthropic joins consecutive user messages and keeps each file after its own text', () => {
    const png: ResolvedFile = { fileId: 'f-1', mediaType: 'image/png', data: PNG_B64 };
    const out = toAnthropicMessages(
      [
        { role: 'user', content: 'first', files: [png] },
        { role: 'user', content: '[note] second' },
      ],
      new Map([[png.fileId, png]]),
    );
    expect(out.messages).toEqual([
      {
        role: 'user',
        content: [
          { type: 'text', text: 'first' },
          { type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG_B64 } },
          { type: 'text', text: '[note] second' },
        ],
      },
    ]);
    // Without files, joined text stays one string, as before.
    expect(toAnthropicMessages([{ role: 'user', content: 'a' }, { role: 'user', content: 'b' }]).messages).toEqual([{ role: 'user', content: 'a\n\nb' }]);
  });
});
