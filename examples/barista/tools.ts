/**
 * Tools of the barista example: a menu, a per-session cart and order placement.
 *
 * Listed under `tools.tool_files` in `barista.agent.yaml`; the worker imports this module and validates every call's
 * arguments against the zod `parameters` before `execute` runs. Whatever `execute` throws reaches the model as a tool
 * error (e.g. an unknown menu item, with the list of valid ones), so it can correct itself within the turn.
 *
 * State: carts and receipts live in module-level maps keyed on `context.sessionId`, which is enough for a demo on
 * one worker. Production tools would keep them in a store (Postgres, Redis, the shop's POS): one worker process
 * serves many sessions, and a session may continue on another worker after a crash or a deploy.
 */
import { z } from 'zod';
import { defineTool, type ToolDefinition } from '../../src/tools.js';

const SIZES = ['small', 'medium', 'large'] as const;
type Size = (typeof SIZES)[number];

/** Price added to a drink's base price by size, in cents. */
const SIZE_SURCHARGE_CENTS: Record<Size, number> = { small: 0, medium: 50, large: 100 };

interface MenuItem {
  id: string;
  name: string;
  category: 'drinks' | 'pastries';
  /** Base price in cents (small size for drinks). */
  priceCents: number;
  description: string;
}

const MENU: MenuItem[] = [
  { id: 'espresso', name: 'espresso', category: 'drinks', priceCents: 250, description: 'a double shot' },
  { id: 'americano', name: 'americano', category: 'drinks', priceCents: 300, description: 'espresso and hot water' },
  { id: 'latte', name: 'latte', category: 'drinks', priceCents: 375, description: 'espresso and steamed milk' },
  { id: 'cappuccino', name: 'cappuccino', category: 'drinks', priceCents: 375, description: 'espresso, milk and foam' },
  { id: 'mocha', name: 'mocha', category: 'drinks', priceCents: 425, description: 'espresso, chocolate and steamed milk' },
  { id: 'croissant', name: 'croissant', category: 'pastries', priceCents: 275, description: 'butter croissant' },
  { id: 'blueberry_muffin', name: 'blueberry muffin', category: 'pastries', priceCents: 300, description: 'baked daily' },
  { id: 'banana_bread', name: 'banana bread', category: 'pastries', priceCents: 325, description: 'a thick slice' },
];

/** Most of one item (same size) a single order may hold. */
const MAX_PER_LINE = 10;

interface CartLine {
  itemId: string;
  /** Absent for pastries. */
  size?: Size;
  quantity: number;
}

interface Receipt {
  order_id: string;
  customer_name: string;
  items: ReturnType<typeof describeLine>[];
  total: number;
  currency: 'USD';
  ready_in_minutes: number;
}

// Demo state, per session. See the file comment: a real deployment keeps these in a store.
const carts = new Map<string, CartLine[]>();
/** Receipts by `sessionId/callId`, so a retried place_order activity returns the first receipt instead of ordering twice. */
const receipts = new Map<string, Receipt>();
const ordersPerSession = new Map<string, number>();

const dollars = (cents: number): number => Math.round(cents) / 100;

/** Accepts `Blueberry Muffin`, `blueberry-muffin`, `blueberry_muffin`. */
function normalizeName(name: string): string {
  return name.trim().toLowerCase().replace(/[\s-]+/g, '_');
}

/**
 * Finds a menu item by name.
 * @throws Error naming close matches and the whole menu when the item is unknown (the model sees this message).
 */
function findItem(name: string): MenuItem {
  const wanted = normalizeName(name);
  const item = MENU.find((m) => m.id === wanted);
  if (item) return item;
  const close = MENU.filter((m) => wanted.includes(m.id) || m.id.includes(wanted)).map((m) => m.name);
  const hint = close.length > 0 ? ` Did you mean: ${close.join(', ')}?` : '';
  throw new Error(`"${name}" is not on the menu.${hint} Menu items: ${MENU.map((m) => m.name).join(', ')}.`);
}

function unitPriceCents(item: MenuItem, size?: Size): number {
  return item.priceCents + (size ? SIZE_SURCHARGE_CENTS[size] : 0);
}

function describeLine(line: CartLine) {
  const item = MENU.find((m) => m.id === line.itemId)!;
  const unit = unitPriceCents(item, line.size);
  return {
    item: item.name,
    ...(line.size ? { size: line.size } : {}),
    quantity: line.quantity,
    unit_price: dollars(unit),
    line_total: dollars(unit * line.quantity),
  };
}

function cartOf(sessionId: string): CartLine[] {
  let cart = carts.get(sessionId);
  if (!cart) {
    cart = [];
    carts.set(sessionId, cart);
  }
  return cart;
}

function cartView(sessionId: string) {
  const lines = cartOf(sessionId).map(describeLine);
  const totalCents = cartOf(sessionId).reduce((sum, l) => {
    const item = MENU.find((m) => m.id === l.itemId)!;
    return sum + unitPriceCents(item, l.size) * l.quantity;
  }, 0);
  return { items: lines, total: dollars(totalCents), currency: 'USD' as const };
}

const itemName = z.string().min(1).max(60).describe('Menu item name, e.g. "latte" or "blueberry muffin"');

/** The module's tool list, read by the worker (`tools` is the required export name). */
export const tools: ToolDefinition[] = [
  defineTool({
    name: 'get_menu',
    description: 'Lists the menu with prices in USD. Drinks come small, medium (+$0.50) or large (+$1.00).',
    parameters: z.object({
      category: z.enum(['drinks', 'pastries']).optional().describe('Only this category; all items when omitted'),
    }),
    execute({ category }) {
      return {
        currency: 'USD',
        size_surcharge: { small: 0, medium: 0.5, large: 1 },
        items: MENU.filter((m) => !category || m.category === category).map((m) => ({
          name: m.name,
          category: m.category,
          price: dollars(m.priceCents),
          description: m.description,
        })),
      };
    },
  }),

  defineTool({
    name: 'add_to_cart',
    description: "Adds an item to this customer's cart and returns the cart. Drinks need a size (default medium).",
    parameters: z.object({
      item: itemName,
      quantity: z.number().int().min(1).max(MAX_PER_LINE).default(1).describe('How many (1-10)'),
      size: z.enum(SIZES).optional().describe('Drinks only; ignored for pastries'),
    }),
    execute({ item, quantity, size }, context) {
      const menuItem = findItem(item);
      const lineSize = menuItem.category === 'drinks' ? (size ?? 'medium') : undefined;
      const cart = cartOf(context.sessionId);
      const line = cart.find((l) => l.itemId === menuItem.id && l.size === lineSize);
      const newQuantity = (line?.quantity ?? 0) + quantity;
      if (newQuantity > MAX_PER_LINE) {
        throw new Error(`at most ${MAX_PER_LINE} of one item per order (the cart already has ${line?.quantity ?? 0})`);
      }
      if (line) line.quantity = newQuantity;
      else cart.push({ itemId: menuItem.id, ...(lineSize ? { size: lineSize } : {}), quantity });
      return {
        added: { item: menuItem.name, ...(lineSize ? { size: lineSize } : {}), quantity },
        ...(size && !lineSize ? { note: `${menuItem.name} has no sizes; size ignored` } : {}),
        cart: cartView(context.sessionId),
      };
    },
  }),

  defineTool({
    name: 'remove_from_cart',
    description: "Removes an item (all of it, or `quantity` of it) from this customer's cart and returns the cart.",
    parameters: z.object({
      item: itemName,
      quantity: z.number().int().min(1).max(MAX_PER_LINE).optional().describe('How many to remove; all when omitted'),
      size: z.enum(SIZES).optional().describe('Which size to remove when the cart has several'),
    }),
    execute({ item, quantity, size }, context) {
      const menuItem = findItem(item);
      const cart = cartOf(context.sessionId);
      const matches = cart.filter((l) => l.itemId === menuItem.id && (!size || l.size === size));
      if (matches.length === 0) {
        const inCart = cart.map(describeLine).map((l) => `${l.quantity} ${l.size ?? ''} ${l.item}`.replace(/\s+/g, ' '));
        throw new Error(`no ${size ? `${size} ` : ''}${menuItem.name} in the cart (cart: ${inCart.join(', ') || 'empty'})`);
      }
      if (matches.length > 1) {
        throw new Error(`the cart has ${menuItem.name} in several sizes (${matches.map((l) => l.size).join(', ')}): say which size`);
      }
      const line = matches[0];
      const removed = Math.min(quantity ?? line.quantity, line.quantity);
      line.quantity -= removed;
      if (line.quantity === 0) cart.splice(cart.indexOf(line), 1);
      return { removed: { item: menuItem.name, quantity: removed }, cart: cartView(context.sessionId) };
    },
  }),

  defineTool({
    name: 'get_cart',
    description: "Returns this customer's cart: items, quantities, prices and total (USD).",
    parameters: z.object({}),
    execute(_args, context) {
      return cartView(context.sessionId);
    },
  }),

  defineTool({
    name: 'place_order',
    description: "Places the order for everything in the cart under the customer's name and empties the cart.",
    parameters: z.object({
      customer_name: z.string().trim().min(1).max(40).describe('Name to call out at the counter'),
    }),
    execute({ customer_name }, context) {
      // context.callId is stable across activity retries: the idempotency key for a side effect.
      const key = `${context.sessionId}/${context.callId}`;
      const earlier = receipts.get(key);
      if (earlier) return earlier;
      const cart = cartView(context.sessionId);
      if (cart.items.length === 0) throw new Error('the cart is empty: add items with add_to_cart first');
      const count = (ordersPerSession.get(context.sessionId) ?? 0) + 1;
      ordersPerSession.set(context.sessionId, count);
      const receipt: Receipt = {
        order_id: `${context.sessionId.slice(0, 8)}-${count}`,
        customer_name,
        items: cart.items,
        total: cart.total,
        currency: 'USD',
        ready_in_minutes: 3 + 2 * cart.items.length,
      };
      receipts.set(key, receipt);
      carts.delete(context.sessionId);
      return receipt;
    },
  }),
];
