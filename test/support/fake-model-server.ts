/**
 * A local fake of the model APIs for tests: `node:http` on 127.0.0.1 (random port), speaking enough of
 * - OpenAI Chat Completions: `POST /v1/chat/completions` (JSON, or SSE chunks when the body has `stream: true`), also
 *   under any other prefix ending in `/chat/completions` (Azure's `/openai/deployments/<model>/...`, Gemini's
 *   `/v1beta/openai/...`), so provider presets can be pointed at it;
 * - OpenAI Responses: `POST /v1/responses` (JSON, or SSE events `response.created` ... `response.output_text.delta` ...
 *   `response.completed` / `response.incomplete` when the body has `stream: true`), also under any prefix ending in
 *   `/responses` (Azure's `/openai/responses`);
 * - Anthropic Messages: `POST /v1/messages` (JSON, or SSE events when the body has `stream: true`);
 * - OpenAI Embeddings: `POST /v1/embeddings` (also any prefix ending in `/embeddings`), answered apart from the queue:
 *   each input gets the vector set for it with {@link FakeModelServer.setEmbedding} (exact text first, then the first
 *   match contained in it), else a deterministic vector hashed from the text; {@link FakeModelServer.failEmbeddings}
 *   makes the endpoint answer an error instead.
 *
 * Responses are queued with {@link FakeModelServer.enqueue} and served in order, whatever the endpoint. A decision
 * object (anything with `action`) is encoded the way each API returns a decision: OpenAI message content (JSON
 * text; Responses: an `output_text` part of the output message), Anthropic `tool_use` block named after the request's forced tool. With nothing queued the server answers
 * 500 with a message saying so. Point SDK clients at `openaiBaseUrl` / `anthropicBaseUrl`.
 *
 * Request fixtures to send it live in `./model-requests.ts`.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A queued response. All fields optional; a plain `{}` is an empty 200 model answer. */
export interface FakeResponse {
  /** HTTP status (default 200). */
  status?: number;
  /** Extra response headers, e.g. `{'retry-after': '7'}`. */
  headers?: Record<string, string>;
  /** Raw body: sent as is (objects JSON-encoded). Overrides every field below. */
  body?: unknown;
  /** An error message, wrapped in the endpoint's error body format (use with a 4xx/5xx `status`). */
  error?: string;
  /** Raw model output text: OpenAI message content; Anthropic text block (no tool_use). */
  text?: string;
  /** Tool input for Anthropic's tool_use block, or content JSON for OpenAI (as a decision object would be). */
  decision?: unknown;
  /** OpenAI `message.refusal` (Responses: a `refusal` content part); Anthropic `stop_reason: refusal` with this text. */
  refusal?: string;
  /**
   * OpenAI `finish_reason` / Anthropic `stop_reason` override (e.g. `length`, `max_tokens`); for Responses, a reason
   * for `status: incomplete` (`max_output_tokens`, `content_filter`).
   */
  stopReason?: string;
  /** Wait this long before answering (ms), e.g. to test aborts. */
  delayMs?: number;
  /** Streaming only: wait this long (ms) before each SSE event after the first, so a reader sees the text grow. */
  chunkDelayMs?: number;
  /** Streaming only: characters per text delta (default: the text in ~3 pieces). */
  chunkChars?: number;
}

/** A request the server received. Header names are lower-case; `body` is parsed JSON when it parses. */
export interface RecordedRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: any;
}

export interface FakeModelServer {
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** `<url>/v1`: the OpenAI SDK's `baseURL`. */
  openaiBaseUrl: string;
  /** `<url>`: the Anthropic SDK's `baseURL` (it appends `/v1/messages`). */
  anthropicBaseUrl: string;
  /** Every request received, oldest first. */
  requests: RecordedRequest[];
  /** Queues a response (a {@link FakeResponse}, or a decision object with `action`). */
  enqueue(response: FakeResponse | Record<string, unknown>): void;
  /** Responses still queued. */
  pending(): number;
  /** Between tests: forgets the recorded requests; throws if responses are still queued (a test left some unserved). */
  reset(): void;
  /** Embeddings: texts equal to `match`, or else containing it, get `vector` (later calls for one match replace it). */
  setEmbedding(match: string, vector: number[]): void;
  /** Embeddings: answer every request with this error (e.g. `{status: 404}`) until called with `undefined`. */
  failEmbeddings(response: { status: number; error?: string } | undefined): void;
  close(): Promise<void>;
}

const OPENAI_PATH_SUFFIX = '/chat/completions';
const RESPONSES_PATH_SUFFIX = '/responses';
const EMBEDDINGS_PATH_SUFFIX = '/embeddings';
/** Dimensions of the hashed default vectors. */
const DEFAULT_EMBEDDING_DIMS = 8;
const ANTHROPIC_PATH = '/v1/messages';
const FAKE_MODEL = 'fake-model';

/** Starts a fake model server on 127.0.0.1 with an OS-assigned port. */
export async function startFakeModelServer(): Promise<FakeModelServer> {
  const queue: FakeResponse[] = [];
  const requests: RecordedRequest[] = [];
  const embeddings = new Map<string, number[]>();
  let embeddingFailure: { status: number; error?: string } | undefined;
  const server = createServer((req, res) => {
    void handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: `fake model server crashed: ${String(err)}` } }));
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readBody(req);
    let body: any = raw;
    try {
      body = raw ? JSON.parse(raw) : undefined;
    } catch {
      /* keep the raw text */
    }
    const path = (req.url ?? '').split('?')[0]!;
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) headers[k] = Array.isArray(v) ? v.join(', ') : (v ?? '');
    requests.push({ method: req.method ?? '', path, headers, body });

    if (path.endsWith(EMBEDDINGS_PATH_SUFFIX) && req.method === 'POST') {
      if (embeddingFailure) return sendJson(res, embeddingFailure.status, errorBody('openai', embeddingFailure.error ?? `fake error ${embeddingFailure.status}`));
      const inputs: string[] = Array.isArray(body?.input) ? body.input : [body?.input];
      return sendJson(res, 200, {
        object: 'list',
        model: body?.model ?? FAKE_MODEL,
        data: inputs.map((text, index) => ({ object: 'embedding', index, embedding: embeddingOf(embeddings, String(text)) })),
        usage: { prompt_tokens: inputs.length, total_tokens: inputs.length },
      });
    }
    const api = path.endsWith(OPENAI_PATH_SUFFIX)
      ? 'openai'
      : path.endsWith(RESPONSES_PATH_SUFFIX)
        ? 'responses'
        : path === ANTHROPIC_PATH
          ? 'anthropic'
          : undefined;
    if (!api || req.method !== 'POST') {
      return sendJson(res, 404, errorBody(api ?? 'openai', `fake model server: no route for ${req.method} ${path}`));
    }
    const next = queue.shift();
    if (!next) {
      return sendJson(res, 500, errorBody(api, `fake model server: no response enqueued for POST ${path}`));
    }
    if (next.delayMs) await new Promise((r) => setTimeout(r, next.delayMs));
    const status = next.status ?? 200;
    const extra = next.headers ?? {};
    if (next.body !== undefined) {
      const text = typeof next.body === 'string' ? next.body : JSON.stringify(next.body);
      res.writeHead(status, { 'content-type': 'application/json', ...extra });
      res.end(text);
      return;
    }
    if (next.error !== undefined || status >= 400) {
      return sendJson(res, status, errorBody(api, next.error ?? `fake error ${status}`), extra);
    }
    const stream = body?.stream === true;
    if (api === 'openai') {
      if (stream) return sendSse(res, extra, openaiChunks(next, body).map((c) => ({ data: c })).concat([{ data: '[DONE]' }]), next.chunkDelayMs);
      return sendJson(res, status, openaiCompletion(next, body), extra);
    }
    if (api === 'responses') {
      if (stream) return sendSse(res, extra, responsesEvents(next, body), next.chunkDelayMs);
      return sendJson(res, status, responsesResponse(next, body), extra);
    }
    if (stream) return sendSse(res, extra, anthropicEvents(next, body), next.chunkDelayMs);
    return sendJson(res, status, anthropicMessage(next, body), extra);
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    openaiBaseUrl: `${url}/v1`,
    anthropicBaseUrl: url,
    requests,
    enqueue(response) {
      queue.push('action' in response ? { decision: response } : (response as FakeResponse));
    },
    pending: () => queue.length,
    reset() {
      requests.length = 0;
      if (queue.length) throw new Error(`fake model server: ${queue.length} queued response(s) were never served`);
    },
    setEmbedding: (match, vector) => void embeddings.set(match, vector),
    failEmbeddings: (response) => {
      embeddingFailure = response;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}

// ------------------------------------------------------------------------------------------------------------------
// Embeddings
// ------------------------------------------------------------------------------------------------------------------

/** The vector for `text`: set for it exactly, else for the first set match it contains, else hashed from it. */
function embeddingOf(set: Map<string, number[]>, text: string): number[] {
  const exact = set.get(text);
  if (exact) return exact;
  for (const [match, vector] of set) if (text.includes(match)) return vector;
  const digest = createHash('sha256').update(text).digest();
  return Array.from({ length: DEFAULT_EMBEDDING_DIMS }, (_, i) => (digest[i]! - 127.5) / 127.5);
}

// ------------------------------------------------------------------------------------------------------------------
// OpenAI encoding
// ------------------------------------------------------------------------------------------------------------------

function outputText(r: FakeResponse): string {
  if (r.text !== undefined) return r.text;
  if (r.decision !== undefined) return JSON.stringify(r.decision);
  return '';
}

function openaiCompletion(r: FakeResponse, req: any): unknown {
  const content = r.refusal !== undefined ? null : outputText(r);
  return {
    id: 'chatcmpl-fake',
    object: 'chat.completion',
    created: 1_700_000_000,
    model: req?.model ?? FAKE_MODEL,
    choices: [
      {
        index: 0,
        finish_reason: r.stopReason ?? 'stop',
        logprobs: null,
        message: { role: 'assistant', content, refusal: r.refusal ?? null },
      },
    ],
    usage: { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 },
  };
}

function openaiChunks(r: FakeResponse, req: any): string[] {
  const base = { id: 'chatcmpl-fake', object: 'chat.completion.chunk', created: 1_700_000_000, model: req?.model ?? FAKE_MODEL };
  const chunk = (delta: object, finish: string | null = null) =>
    JSON.stringify({ ...base, choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }] });
  const out = [chunk({ role: 'assistant', content: '' })];
  if (r.refusal !== undefined) out.push(chunk({ refusal: r.refusal }));
  else for (const piece of pieces(outputText(r), r.chunkChars)) out.push(chunk({ content: piece }));
  out.push(chunk({}, r.stopReason ?? 'stop'));
  if (req?.stream_options?.include_usage) {
    out.push(JSON.stringify({ ...base, choices: [], usage: { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 } }));
  }
  return out;
}

// ------------------------------------------------------------------------------------------------------------------
// OpenAI Responses encoding (https://platform.openai.com/docs/api-reference/responses)
// ------------------------------------------------------------------------------------------------------------------

const RESPONSES_USAGE = {
  input_tokens: 17,
  input_tokens_details: { cached_tokens: 4 },
  output_tokens: 9,
  output_tokens_details: { reasoning_tokens: 2 },
  total_tokens: 26,
};

function responsesPart(r: FakeResponse): any {
  return r.refusal !== undefined
    ? { type: 'refusal', refusal: r.refusal }
    : { type: 'output_text', text: outputText(r), annotations: [], logprobs: [] };
}

function responsesMessage(r: FakeResponse, status: string): any {
  return { type: 'message', id: 'msg_fake', status, role: 'assistant', content: [responsesPart(r)] };
}

/** The Response object; `status` and `output` overridable for the in-progress snapshot of `response.created`. */
function responsesResponse(r: FakeResponse, req: any, inProgress = false): any {
  const incomplete = r.stopReason !== undefined;
  const status = inProgress ? 'in_progress' : incomplete ? 'incomplete' : 'completed';
  return {
    id: 'resp_fake',
    object: 'response',
    created_at: 1_700_000_000,
    status,
    error: null,
    incomplete_details: incomplete && !inProgress ? { reason: r.stopReason } : null,
    instructions: req?.instructions ?? null,
    max_output_tokens: req?.max_output_tokens ?? null,
    model: req?.model ?? FAKE_MODEL,
    output: inProgress ? [] : [responsesMessage(r, incomplete ? 'incomplete' : 'completed')],
    parallel_tool_calls: true,
    store: req?.store ?? true,
    temperature: req?.temperature ?? 1,
    text: req?.text ?? { format: { type: 'text' } },
    tool_choice: 'auto',
    tools: [],
    top_p: 1,
    metadata: {},
    usage: inProgress ? null : RESPONSES_USAGE,
  };
}

/** The SSE events of a streamed Response, in the order OpenAI sends them, each with `sequence_number`. */
function responsesEvents(r: FakeResponse, req: any): SseEvent[] {
  let seq = 0;
  const ev = (type: string, data: object): SseEvent => ({ event: type, data: JSON.stringify({ type, sequence_number: seq++, ...data }) });
  const item = { output_index: 0, item_id: 'msg_fake' };
  const part = responsesPart(r);
  const emptyPart = part.type === 'refusal' ? { type: 'refusal', refusal: '' } : { ...part, text: '' };
  const out: SseEvent[] = [
    ev('response.created', { response: responsesResponse(r, req, true) }),
    ev('response.in_progress', { response: responsesResponse(r, req, true) }),
    ev('response.output_item.added', { output_index: 0, item: { ...responsesMessage(r, 'in_progress'), content: [] } }),
    ev('response.content_part.added', { ...item, content_index: 0, part: emptyPart }),
  ];
  if (part.type === 'refusal') {
    for (const piece of pieces(part.refusal, r.chunkChars)) out.push(ev('response.refusal.delta', { ...item, content_index: 0, delta: piece }));
    out.push(ev('response.refusal.done', { ...item, content_index: 0, refusal: part.refusal }));
  } else {
    for (const piece of pieces(part.text, r.chunkChars)) {
      out.push(ev('response.output_text.delta', { ...item, content_index: 0, delta: piece, logprobs: [] }));
    }
    out.push(ev('response.output_text.done', { ...item, content_index: 0, text: part.text, logprobs: [] }));
  }
  const final = responsesResponse(r, req);
  out.push(ev('response.content_part.done', { ...item, content_index: 0, part }));
  out.push(ev('response.output_item.done', { output_index: 0, item: final.output[0] }));
  out.push(ev(final.status === 'incomplete' ? 'response.incomplete' : 'response.completed', { response: final }));
  return out;
}

// ------------------------------------------------------------------------------------------------------------------
// Anthropic encoding
// ------------------------------------------------------------------------------------------------------------------

function toolName(req: any): string {
  return req?.tool_choice?.name ?? req?.tools?.[0]?.name ?? 'decision';
}

function anthropicContent(r: FakeResponse, req: any): any[] {
  if (r.refusal !== undefined) return [{ type: 'text', text: r.refusal, citations: null }];
  if (r.text !== undefined) return [{ type: 'text', text: r.text, citations: null }];
  if (r.decision !== undefined) {
    return [{ type: 'tool_use', id: 'toolu_fake', name: toolName(req), input: r.decision, caller: { type: 'direct' } }];
  }
  return [];
}

function anthropicStopReason(r: FakeResponse, content: any[]): string {
  if (r.stopReason) return r.stopReason;
  if (r.refusal !== undefined) return 'refusal';
  return content.some((b) => b.type === 'tool_use') ? 'tool_use' : 'end_turn';
}

function anthropicMessage(r: FakeResponse, req: any): unknown {
  const content = anthropicContent(r, req);
  return {
    id: 'msg_fake',
    type: 'message',
    role: 'assistant',
    model: req?.model ?? FAKE_MODEL,
    content,
    container: null,
    diagnostics: null,
    stop_details: null,
    stop_reason: anthropicStopReason(r, content),
    stop_sequence: null,
    usage: { input_tokens: 13, output_tokens: 5, cache_creation_input_tokens: null, cache_read_input_tokens: null },
  };
}

function anthropicEvents(r: FakeResponse, req: any): SseEvent[] {
  const content = anthropicContent(r, req);
  const message = anthropicMessage(r, req) as Record<string, unknown>;
  const ev = (event: string, data: object): SseEvent => ({ event, data: JSON.stringify({ type: event, ...data }) });
  const out: SseEvent[] = [
    ev('message_start', { message: { ...message, content: [], stop_reason: null, usage: { input_tokens: 13, output_tokens: 1 } } }),
  ];
  content.forEach((block, index) => {
    if (block.type === 'tool_use') {
      out.push(ev('content_block_start', { index, content_block: { ...block, input: {} } }));
      const json = JSON.stringify(block.input);
      for (const piece of pieces(json, r.chunkChars)) {
        out.push(ev('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: piece } }));
      }
    } else {
      out.push(ev('content_block_start', { index, content_block: { ...block, text: '' } }));
      for (const piece of pieces(block.text, r.chunkChars)) {
        out.push(ev('content_block_delta', { index, delta: { type: 'text_delta', text: piece } }));
      }
    }
    out.push(ev('content_block_stop', { index }));
  });
  out.push(
    ev('message_delta', {
      delta: { stop_reason: message.stop_reason, stop_sequence: null, stop_details: null },
      usage: { output_tokens: 5 },
    }),
  );
  out.push(ev('message_stop', {}));
  return out;
}

// ------------------------------------------------------------------------------------------------------------------
// HTTP helpers
// ------------------------------------------------------------------------------------------------------------------

interface SseEvent {
  event?: string;
  data: string;
}

/** Splits text into pieces of `chars` characters (default ~3 pieces) so streaming tests see several deltas. */
function pieces(text: string, chars?: number): string[] {
  if (text.length < 3) return text ? [text] : [];
  const size = chars ?? Math.ceil(text.length / 3);
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out;
}

function errorBody(api: 'openai' | 'responses' | 'anthropic', message: string): unknown {
  return api !== 'anthropic'
    ? { error: { message, type: 'invalid_request_error', param: null, code: null } }
    : { type: 'error', error: { type: 'api_error', message } };
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

async function sendSse(res: ServerResponse, headers: Record<string, string>, events: SseEvent[], delayMs = 0): Promise<void> {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', ...headers });
  for (const [i, e] of events.entries()) {
    if (delayMs > 0 && i > 0) await new Promise((r) => setTimeout(r, delayMs));
    res.write(`${e.event ? `event: ${e.event}\n` : ''}data: ${e.data}\n\n`);
  }
  res.end();
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
