/**
 * File fixtures and what the fake model server recorded of them: a real 1x1 PNG and a one-page PDF, multipart
 * bodies that carry them ({@link multipartBody}), and {@link mediaParts}, the image and document parts of a recorded
 * request body in each API's own shape (Chat Completions `image_url` / `file`, Responses `input_image` /
 * `input_file`, Anthropic `image` / `document`).
 */
import type { RecordedRequest } from './fake-model-server.js';

/** A valid 1x1 PNG (70 bytes). */
export const PNG_1X1 = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==',
  'base64',
);

/** A minimal PDF (one empty page). */
export const PDF_MINIMAL = Buffer.from(
  '%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n' +
    '3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 10 10]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n',
);

/** A PNG whose bytes are unique to one test (the 1x1 PNG plus a trailing marker), so a search for them is exact. */
export function uniquePng(marker: string): Buffer {
  return Buffer.concat([PNG_1X1, Buffer.from(`stepwise-test-${marker}`)]);
}

/**
 * A `multipart/form-data` body for `app.inject` (built by undici's `FormData`, as a browser builds one): the fields,
 * then one `file` part per file.
 */
export async function multipartBody(fields: Record<string, string>, files: Array<{ name: string; type: string; bytes: Buffer }>) {
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) form.append(k, v);
  for (const f of files) form.append('file', new Blob([f.bytes], { type: f.type }), f.name);
  const req = new Request('http://localhost/', { method: 'POST', body: form });
  return { payload: Buffer.from(await req.arrayBuffer()), headers: { 'content-type': req.headers.get('content-type')! } };
}

/** Part types that carry files, in every API the fake server speaks. */
const MEDIA_TYPES = new Set(['image_url', 'file', 'input_image', 'input_file', 'image', 'document']);

/** The file-carrying content parts of a recorded request, in message order (`[]` for a text-only prompt). */
export function mediaParts(request: RecordedRequest): Array<Record<string, any>> {
  const body = request.body ?? {};
  const messages: any[] = Array.isArray(body.messages) ? body.messages : Array.isArray(body.input) ? body.input : [];
  return messages.flatMap((m) => (Array.isArray(m?.content) ? m.content.filter((p: any) => MEDIA_TYPES.has(p?.type)) : []));
}
