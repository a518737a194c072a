/**
 * Are Stepwise's search attributes (`SEARCH_ATTRIBUTE_DEFINITIONS`) registered in a namespace? Asked once at start by
 * the worker (which says so once when they are not) and by the API's Temporal backend (which sets them on new sessions
 * only when they are, since starting a workflow with unregistered search attributes fails).
 *
 * Node only; works with a client `Connection` and a worker `NativeConnection` alike.
 */
import type { Connection } from '@temporalio/client';
import { SEARCH_ATTRIBUTE_DEFINITIONS } from '../src/session/contract.js';

/** The part of `connection.operatorService` used here. */
export type SearchAttributeLister = Pick<Connection['operatorService'], 'listSearchAttributes'>;

/**
 * Names of Stepwise's search attributes missing from `namespace` (empty when all are registered).
 *
 * @throws the gRPC error when the server cannot be asked (retryable: UNAVAILABLE; a missing namespace is not).
 */
export async function missingSearchAttributes(operator: SearchAttributeLister, namespace: string): Promise<string[]> {
  const res = await operator.listSearchAttributes({ namespace });
  const known = new Set([...Object.keys(res.customAttributes ?? {}), ...Object.keys(res.systemAttributes ?? {})]);
  return Object.keys(SEARCH_ATTRIBUTE_DEFINITIONS).filter((name) => !known.has(name));
}

/** The commands that register the missing attributes on a real cluster, for messages and the docs. */
export function registerSearchAttributesHint(missing: string[], namespace: string): string {
  return missing
    .map((name) => `temporal operator search-attribute create --namespace ${namespace} --name ${name} --type ${SEARCH_ATTRIBUTE_DEFINITIONS[name as keyof typeof SEARCH_ATTRIBUTE_DEFINITIONS]}`)
    .join('\n');
}
