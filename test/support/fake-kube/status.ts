/** Kubernetes `Status` documents, shaped as the real API server sends them with each error code. */
import type { ResourceType } from './resources.ts';
import { qualifiedName } from './resources.ts';

export interface StatusDoc {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure' | 'Success';
  message?: string;
  reason?: string;
  details?: { name?: string; group?: string; kind?: string; causes?: { reason?: string; message: string; field?: string }[]; retryAfterSeconds?: number };
  code: number;
}

export class ApiError extends Error {
  constructor(readonly status: StatusDoc) {
    super(status.message);
  }
}

function failure(code: number, reason: string, message: string, details?: StatusDoc['details']): ApiError {
  return new ApiError({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, ...(details ? { details } : {}), code });
}

function detailsOf(r: ResourceType, name: string): StatusDoc['details'] {
  return { name, ...(r.group ? { group: r.group } : {}), kind: r.plural };
}

export const errors = {
  notFound: (r: ResourceType, name: string) => failure(404, 'NotFound', `${qualifiedName(r)} "${name}" not found`, detailsOf(r, name)),
  alreadyExists: (r: ResourceType, name: string) => failure(409, 'AlreadyExists', `${qualifiedName(r)} "${name}" already exists`, detailsOf(r, name)),
  conflict: (r: ResourceType, name: string) =>
    failure(
      409,
      'Conflict',
      `Operation cannot be fulfilled on ${qualifiedName(r)} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
      detailsOf(r, name),
    ),
  badRequest: (message: string) => failure(400, 'BadRequest', message),
  internal: (message: string) => failure(500, 'InternalError', message),
  unprocessable: (message: string) => failure(422, 'Invalid', message),
  invalid: (r: ResourceType, name: string, field: string, message: string) =>
    failure(422, 'Invalid', `${r.kind} "${name}" is invalid: ${field}: ${message}`, {
      ...detailsOf(r, name),
      kind: r.kind,
      causes: [{ reason: 'FieldValueInvalid', message, field }],
    }),
  unsupportedMediaType: (type: string) =>
    failure(
      415,
      'UnsupportedMediaType',
      `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json; got ${type}`,
    ),
  methodNotAllowed: (method: string) => failure(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource (${method})`),
  pathNotFound: () => failure(404, 'NotFound', 'the server could not find the requested resource'),
  unauthorized: () => failure(401, 'Unauthorized', 'Unauthorized'),
  forbidden: (r: ResourceType, name: string, verb: string, namespace: string | undefined, user: string) =>
    failure(
      403,
      'Forbidden',
      `${qualifiedName(r)}${name ? ` "${name}"` : ''} is forbidden: User "${user}" cannot ${verb} resource "${r.plural}" in API group "${r.group}" ${namespace ? `in the namespace "${namespace}"` : 'at the cluster scope'}`,
      detailsOf(r, name),
    ),
  namespaceNotFound: (namespace: string) => failure(404, 'NotFound', `namespaces "${namespace}" not found`, { name: namespace, kind: 'namespaces' }),
  tooManyRequests: (message: string, causes: { reason: string; message: string }[]) => failure(429, 'TooManyRequests', message, { causes }),
  gone: (message: string) => failure(410, 'Expired', message),
};

export function success(code = 200, details?: StatusDoc['details']): StatusDoc {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', ...(details ? { details } : {}), code };
}
