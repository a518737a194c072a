/**
 * Reading Server-Sent Events in tests, as a browser's `EventSource` frames them (WHATWG HTML "Server-sent events":
 * blank-line separated blocks of `id:`, `event:`, `data:` and `:` comment lines). `data` is parsed as JSON, since every
 * Stepwise stream sends JSON.
 */

/** One parsed SSE message (`comment` set for `: ...` lines instead). */
export interface SseMessage {
  id?: string;
  event?: string;
  data?: any;
  comment?: string;
  /** The raw block, to assert on exact framing. */
  raw: string;
}

/** Reads an SSE response message by message (WHATWG framing: blank-line separated blocks). */
export class SseReader {
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  readonly #decoder = new TextDecoder();
  #buffer = '';
  #done = false;

  constructor(readonly res: Response) {
    this.#reader = res.body!.getReader();
  }

  /** The next message (comments included), or `null` once the server ended the stream. */
  async next(): Promise<SseMessage | null> {
    for (;;) {
      const end = this.#buffer.indexOf('\n\n');
      if (end >= 0) {
        const raw = this.#buffer.slice(0, end);
        this.#buffer = this.#buffer.slice(end + 2);
        return parseSseBlock(raw);
      }
      if (this.#done) return null;
      const { done, value } = await this.#reader.read();
      if (done) this.#done = true;
      else this.#buffer += this.#decoder.decode(value, { stream: true });
    }
  }

  /**
   * Messages (not comments) until `stop` says so (inclusive) or the stream ends; fails if neither happens within
   * `timeoutMs` (so a missing event fails the test at once instead of at the test timeout).
   */
  async until(stop: (m: SseMessage) => boolean = () => false, timeoutMs = 5_000): Promise<SseMessage[]> {
    const out: SseMessage[] = [];
    const read = async () => {
      for (let m = await this.next(); m; m = await this.next()) {
        if (m.comment !== undefined) continue;
        out.push(m);
        if (stop(m)) break;
      }
      return out;
    };
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no end of stream or awaited message within ${timeoutMs} ms; got ${out.map((m) => m.id).join(',')}`)), timeoutMs);
    });
    try {
      return await Promise.race([read(), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Messages until the server ends the stream (fails after `timeoutMs`). */
  toEnd(timeoutMs = 5_000): Promise<SseMessage[]> {
    return this.until(() => false, timeoutMs);
  }

  async cancel(): Promise<void> {
    await this.#reader.cancel().catch(() => {});
  }
}

/** Parses one SSE block (the lines between blank lines): `id`, `event`, JSON `data`, or a `: comment`. */
export function parseSseBlock(raw: string): SseMessage {
  const msg: SseMessage = { raw };
  const data: string[] = [];
  for (const line of raw.split('\n')) {
    if (line.startsWith(':')) msg.comment = line.slice(1).trim();
    else if (line.startsWith('id: ')) msg.id = line.slice(4);
    else if (line.startsWith('event: ')) msg.event = line.slice(7);
    else if (line.startsWith('data: ')) data.push(line.slice(6));
  }
  if (data.length > 0) msg.data = JSON.parse(data.join('\n'));
  return msg;
}

/** Every message of a whole SSE body (comments left out), e.g. from `app.inject`. */
export function parseSse(body: string): SseMessage[] {
  return body
    .split('\n\n')
    .filter((b) => b.trim())
    .map(parseSseBlock)
    .filter((m) => m.comment === undefined);
}
