import type { OpenAPIObject } from '@nestjs/swagger';

const HEALTH_BODY = {
  type: 'object',
  properties: {
    status: { type: 'string', enum: ['ok', 'error'] },
    database: { type: 'string', enum: ['up', 'down'] },
  },
  required: ['status', 'database'],
};

/**
 * Adds the module's health check (`healthPath`, default `/health`) to an OpenAPI document:
 * it is registered on the HTTP adapter rather than as a controller, so Swagger does not see it.
 */
export function addHealthCheckToDocument(document: OpenAPIObject, path: string | false = '/health'): OpenAPIObject {
  if (path === false) return document;
  const json = { 'application/json': { schema: HEALTH_BODY } };
  document.paths[path] = {
    get: {
      tags: ['Health'],
      summary: 'Is the database reachable? For load balancers and orchestrators',
      responses: {
        200: { description: '{"status":"ok","database":"up"}: a trivial query answered in time', content: json },
        503: { description: '{"status":"error","database":"down"}, with Retry-After', content: json },
      },
    },
  };
  return document;
}
