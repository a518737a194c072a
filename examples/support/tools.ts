/**
 * Tools of the IT help-desk example: a small knowledge base, service status and ticket creation.
 *
 * Listed under `tools.tool_files` in `support.agent.yaml`. Arguments are validated against the zod `parameters`
 * before `execute` runs; what `execute` throws (e.g. a priority the help desk's rules do not allow) reaches the model
 * as a tool error so it can correct the call within the same turn.
 *
 * State: tickets live in a module-level map, keyed on `context.sessionId` + `context.callId`, which is enough for a
 * demo on one worker. Production tools would call the real ticketing system (or a store): one worker serves many
 * sessions, and a session may continue on another worker after a crash.
 */
import { z } from 'zod';
import { defineTool, type ToolDefinition } from '../../src/tools.js';

const SERVICES = ['vpn', 'email', 'wifi', 'sso', 'printing'] as const;
const CATEGORIES = ['network', 'account', 'hardware', 'software', 'other'] as const;
const PRIORITIES = ['low', 'medium', 'high', 'urgent'] as const;

/** Demo status board. A real tool would query the status page or monitoring API. */
const STATUS: Record<(typeof SERVICES)[number], { status: 'operational' | 'degraded' | 'outage'; note?: string }> = {
  vpn: { status: 'degraded', note: 'INC-2041: intermittent disconnects on the EU-1 gateway; EU-2 is unaffected' },
  email: { status: 'operational' },
  wifi: { status: 'operational' },
  sso: { status: 'operational' },
  printing: { status: 'outage', note: 'INC-2038: 3rd-floor printers offline, technician on site' },
};

interface Article {
  id: string;
  title: string;
  keywords: string[];
  steps: string[];
}

const KB: Article[] = [
  {
    id: 'KB-112',
    title: 'VPN disconnects every few minutes',
    keywords: ['vpn', 'disconnect', 'drops', 'tunnel', 'gateway'],
    steps: ['Switch the VPN client to the EU-2 gateway', 'Turn off Wi-Fi power saving', 'Update the VPN client'],
  },
  {
    id: 'KB-087',
    title: 'Cannot reach file shares',
    keywords: ['file', 'share', 'server', 'drive', 'vpn'],
    steps: ['Check the VPN is connected', 'Reconnect the drive with \\\\files.corp\\team'],
  },
  {
    id: 'KB-031',
    title: 'Password expired or account locked',
    keywords: ['password', 'locked', 'login', 'sso', 'account'],
    steps: ['Reset at https://id.example.com/reset', 'Wait 5 minutes for the lock to clear'],
  },
];

interface Ticket {
  ticket_id: string;
  summary: string;
  category: (typeof CATEGORIES)[number];
  priority: (typeof PRIORITIES)[number];
  device?: string;
  response_target: string;
}

/** Tickets by `sessionId/callId`: a retried create_ticket activity returns the same ticket instead of a second one. */
const tickets = new Map<string, Ticket>();

const RESPONSE_TARGET: Record<(typeof PRIORITIES)[number], string> = {
  low: '3 business days',
  medium: '1 business day',
  high: '4 hours',
  urgent: '30 minutes',
};

/**
 * Demo ticket number derived from the ticket's content (FNV-1a), so the scripted demo can quote it. A real tool
 * returns the number the ticketing system assigns.
 */
function ticketNumber(text: string): string {
  let hash = 0x811c9dc5;
  for (const ch of text) {
    hash ^= ch.codePointAt(0)!;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return `HD-${10000 + (hash % 90000)}`;
}

/** The module's tool list, read by the worker (`tools` is the required export name). */
export const tools: ToolDefinition[] = [
  defineTool({
    name: 'search_kb',
    description: 'Searches the help-desk knowledge base; returns up to 3 articles with fix-it steps, best first.',
    parameters: z.object({
      query: z.string().trim().min(3).max(200).describe('Symptoms in a few words, e.g. "vpn disconnects"'),
    }),
    execute({ query }) {
      const words = query.toLowerCase().split(/\W+/).filter((w) => w.length > 2);
      const scored = KB.map((a) => ({ a, score: words.filter((w) => a.keywords.some((k) => k.startsWith(w) || w.startsWith(k))).length }))
        .filter((s) => s.score > 0)
        .sort((x, y) => y.score - x.score)
        .slice(0, 3);
      return { query, articles: scored.map(({ a }) => ({ id: a.id, title: a.title, steps: a.steps })) };
    },
  }),

  defineTool({
    name: 'check_service_status',
    description: 'Current status of a company service (operational, degraded or outage) and any open incident.',
    parameters: z.object({ service: z.enum(SERVICES) }),
    execute({ service }) {
      return { service, ...STATUS[service] };
    },
  }),

  defineTool({
    name: 'create_ticket',
    description:
      'Opens a help-desk ticket and returns its id and response target. Priority: low, medium, high (one person ' +
      'cannot work), urgent (only for outages affecting several people).',
    parameters: z.object({
      summary: z.string().trim().min(10).max(200).describe('One line: what is wrong and what was tried'),
      category: z.enum(CATEGORIES),
      priority: z.enum(PRIORITIES),
      device: z.string().max(80).optional().describe('Laptop model and OS, when relevant'),
      affected_users: z.number().int().min(1).max(10_000).default(1).describe('How many people have this problem'),
    }),
    execute(args, context) {
      const key = `${context.sessionId}/${context.callId}`;
      const earlier = tickets.get(key);
      if (earlier) return earlier;
      if (args.priority === 'urgent' && args.affected_users < 2) {
        throw new Error(
          "priority 'urgent' is reserved for outages affecting several people; use 'high' when one person cannot work",
        );
      }
      const ticket: Ticket = {
        ticket_id: ticketNumber(`${args.category}|${args.summary}`),
        summary: args.summary,
        category: args.category,
        priority: args.priority,
        ...(args.device ? { device: args.device } : {}),
        response_target: RESPONSE_TARGET[args.priority],
      };
      tickets.set(key, ticket);
      return ticket;
    },
  }),
];
