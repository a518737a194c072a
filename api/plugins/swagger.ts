/**
 * OpenAPI document built from the routes' zod schemas (`jsonSchemaTransform`), served as JSON at `/docs/json` and as
 * Swagger UI at `/docs`. Registered before the routes so it sees them all. Not encapsulated (it must observe routes
 * added by sibling plugins).
 */
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyPluginAsync } from 'fastify';
import { jsonSchemaTransform } from 'fastify-type-provider-zod';

/** Where the docs live: UI at `/docs`, OpenAPI JSON at `/docs/json`. */
export const DOCS_PREFIX = '/docs';

const swaggerPlugin: FastifyPluginAsync = async (app) => {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Stepwise API',
        description:
          'Durable step-and-flow conversational agents on Temporal. Errors are `{ error: { code, message, details? } }` ' +
          'with the stable codes listed in docs/rest-api.md.',
        version: '0.1.0',
      },
      tags: [
        { name: 'system', description: 'Health' },
        { name: 'agents', description: 'Loaded agent configs' },
        { name: 'sessions', description: 'Conversation sessions' },
        { name: 'time travel', description: 'Fork, rewind, regenerate and edit (docs/time-travel.md)' },
      ],
    },
    transform: jsonSchemaTransform,
  });
  await app.register(swaggerUi, {
    routePrefix: DOCS_PREFIX,
    // Swagger UI's own Content-Security-Policy (hashes of its inline scripts) replaces helmet's on /docs, minus
    // `upgrade-insecure-requests` (see `./headers.ts`).
    staticCSP: true,
    transformStaticCSP: (header) => header.replace(/\s*upgrade-insecure-requests;?/, ''),
  });
};

(swaggerPlugin as unknown as Record<symbol, boolean>)[Symbol.for('skip-override')] = true;

export default swaggerPlugin;
