/**
 * Calls to the server extension under /llama-workbench/ (Jupyter's auth and XSRF included).
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import { IJSONSchema, IProblem } from './form';

/** An error answer of the server: its status, message and problems by loc. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly problems: IProblem[] = []
  ) {
    super(message);
  }
}

export interface IResource {
  kind: string;
  id: string;
  provider_id: string | null;
  status: string;
}

export interface IProvider {
  provider_id: string;
  provider_type: string;
  index: number;
  status: string;
  problems: IProblem[];
  config: Record<string, unknown>;
  resources: IResource[];
}

export interface IConfigState {
  path: string;
  source: string;
  exists: boolean;
  revision: string | null;
  distributions: { name: string; description: string }[];
  saved: { path: string; backup: string | null } | null;
  apis: { api: string; providers: IProvider[] }[];
  resources: IResource[];
  problems: IProblem[];
  warnings: string[];
  valid: boolean;
  /** How callers sign in and what limits apply: kinds and counts, never a secret. */
  server: IServerSummary | null;
}

export interface IServerSummary {
  auth: string;
  access: string;
  routes: string;
  quota: string;
  cors: boolean;
  tls: boolean;
}

export interface ICatalogueEntry {
  api: string;
  provider_type: string;
  description: string;
  pip_extra: string | null;
  remote: boolean;
  schema: IJSONSchema | null;
  secrets: string[];
  testable: boolean;
  error?: string;
}

export interface ICheckResult {
  valid: boolean;
  problems: IProblem[];
  warnings: string[];
}

export interface IConnectionResult {
  ok: boolean;
  url: string;
  models: string[];
  message: string;
}

/** One request to the server extension; non-2xx answers raise an ApiError with its message. */
export async function requestAPI<T>(
  endpoint: string,
  init: RequestInit = {},
  query: Record<string, string> = {}
): Promise<T> {
  const settings = ServerConnection.makeSettings();
  const search = new URLSearchParams(
    Object.entries(query).filter(([, v]) => v !== '')
  ).toString();
  const url =
    URLExt.join(settings.baseUrl, 'llama-workbench', endpoint) + (search ? `?${search}` : '');
  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, init, settings);
  } catch (error) {
    throw new ServerConnection.NetworkError(error as TypeError);
  }
  const text = await response.text();
  let data: any = {};
  if (text.length > 0) {
    try {
      data = JSON.parse(text);
    } catch {
      data = { message: text };
    }
  }
  if (!response.ok) {
    throw new ApiError(
      response.status,
      data.message || `${response.status} ${response.statusText}`,
      data.problems ?? []
    );
  }
  return data as T;
}

function send(method: string, body: unknown): RequestInit {
  return { method, body: JSON.stringify(body) };
}

/** The typed calls the panel makes. */
export const api = {
  config: (path: string) => requestAPI<IConfigState>('config', {}, { path }),
  catalogue: () => requestAPI<{ providers: ICatalogueEntry[] }>('providers'),
  fromDistribution: (path: string, distribution: string, revision: string | null) =>
    requestAPI<IConfigState>('config/distribution', send('POST', { path, distribution, revision })),
  addProvider: (path: string, apiName: string, body: Record<string, unknown>) =>
    requestAPI<IConfigState>(`config/providers/${apiName}`, send('POST', { path, ...body })),
  editProvider: (path: string, apiName: string, id: string, body: Record<string, unknown>) =>
    requestAPI<IConfigState>(
      `config/providers/${apiName}/${encodeURIComponent(id)}`,
      send('PUT', { path, ...body })
    ),
  removeProvider: (path: string, apiName: string, id: string, revision: string | null) =>
    requestAPI<IConfigState>(
      `config/providers/${apiName}/${encodeURIComponent(id)}`,
      { method: 'DELETE' },
      { path, revision: revision ?? '' }
    ),
  validateProvider: (body: Record<string, unknown>) =>
    requestAPI<ICheckResult>('providers/validate', send('POST', body)),
  testConnection: (body: Record<string, unknown>) =>
    requestAPI<IConnectionResult>('providers/test', send('POST', body))
};
