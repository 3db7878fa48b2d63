import { readFileSync, realpathSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { BigQueryError, invalid } from './errors';
import type { Warehouse } from './warehouse';

/**
 * What Google's `bq` CLI needs from the emulator beyond what the client libraries use (see
 * docs/bq-cli.md): the discovery document it builds its API client from, `projects.list`
 * (`bq ls -p`, `bq show PROJECT:`), tolerance of the JSON nulls it sends for unset members,
 * and patch semantics for labels. (The service's default TIMESTAMP format is server.ts's.)
 */

/** The request and reply shapes of the route handlers in server.ts. */
export interface CompatRequest {
  params: string[];
  query: URLSearchParams;
  body: Record<string, unknown>;
  baseUrl: string;
}

export interface CompatReply {
  status: number;
  body?: unknown;
}

/**
 * Where `bq --api URL` fetches its discovery document when not given `--discovery_file`:
 * `URL/$discovery/rest?version=v2`; the classic Discovery service path is served too.
 */
export const DISCOVERY_PATH =
  /^\/(?:(?:\$|%24)discovery\/rest|discovery\/v1\/apis\/bigquery\/v2\/rest)$/;

/** `projects.list`: the one BigQuery v2 route that is not under `/projects/{project}/`. */
export const PROJECTS_PATH = /^\/projects$/;

/** Where a Google Cloud SDK keeps the BigQuery discovery document bq itself ships with. */
const DOCUMENT_IN_SDK = join('platform', 'bq', 'discovery_next', 'bigquery.json');

/**
 * The SDK installations to look in: `$CLOUDSDK_ROOT_DIR`, then the installations the `bq` and
 * `gcloud` on PATH belong to (`<sdk>/bin/bq`, often reached through a symlink).
 */
function sdkRoots(env: NodeJS.ProcessEnv): string[] {
  const roots: string[] = [];
  if (env.CLOUDSDK_ROOT_DIR !== undefined && env.CLOUDSDK_ROOT_DIR !== '') {
    roots.push(env.CLOUDSDK_ROOT_DIR);
  }
  for (const directory of (env.PATH ?? '').split(delimiter)) {
    if (directory === '') continue;
    for (const tool of ['bq', 'gcloud']) {
      try {
        roots.push(dirname(dirname(realpathSync(join(directory, tool)))));
      } catch {
        // Not installed in this directory.
      }
    }
  }
  return [...new Set(roots)];
}

/** Finds and reads the SDK's discovery document; `undefined` when no SDK is installed. */
export function readSdkDiscoveryDocument(
  env: NodeJS.ProcessEnv = process.env,
): { path: string; document: Record<string, unknown> } | undefined {
  for (const root of sdkRoots(env)) {
    const path = join(root, DOCUMENT_IN_SDK);
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch {
      continue;
    }
    return { path, document: JSON.parse(text) as Record<string, unknown> };
  }
  return undefined;
}

/** Serves the BigQuery v2 discovery document, pointed at this emulator. */
export class DiscoveryDocument {
  private loaded: Record<string, unknown> | undefined;

  constructor(
    private readonly load: () => Record<string, unknown> | undefined = () =>
      readSdkDiscoveryDocument()?.document,
  ) {}

  get({ query, baseUrl }: CompatRequest): CompatReply {
    const version = query.get('version') ?? 'v2';
    if (version !== 'v2') {
      throw new BigQueryError(
        404,
        'notFound',
        `The BigQuery emulator serves the v2 discovery document only, not ${version}`,
      );
    }
    this.loaded ??= this.load();
    if (this.loaded === undefined) {
      throw new BigQueryError(
        404,
        'notFound',
        'The BigQuery emulator serves the discovery document of a local Google Cloud SDK and ' +
          `found none (looked for ${DOCUMENT_IN_SDK} under $CLOUDSDK_ROOT_DIR and the SDKs of ` +
          'bq and gcloud on PATH); pass bq --discovery_file instead',
      );
    }
    const root = `${new URL(baseUrl).origin}/`;
    const servicePath =
      typeof this.loaded.servicePath === 'string' ? this.loaded.servicePath : 'bigquery/v2/';
    // Every address in the document names this emulator, so no client it builds calls Google.
    const { endpoints, ...document } = this.loaded;
    void endpoints;
    return {
      status: 200,
      body: {
        ...document,
        rootUrl: root,
        mtlsRootUrl: root,
        baseUrl: `${root}${servicePath}`,
      },
    };
  }
}

/** A stable, made-up project number, as projects.list reports one for every project. */
function projectNumber(projectId: string): string {
  let hash = 0x811c9dc5;
  for (const char of projectId) {
    hash ^= char.codePointAt(0) ?? 0;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return String(100_000_000_000 + hash);
}

/** projects.list: the emulator's project; any project can be used, but only this one is listed. */
export function listProjects(projectIds: readonly string[], { query }: CompatRequest): CompatReply {
  const raw = query.get('maxResults');
  if (raw !== null && !/^\d+$/.test(raw)) throw invalid(`Invalid value for maxResults: ${raw}`);
  const projects = raw === null ? projectIds : projectIds.slice(0, Number(raw));
  return {
    status: 200,
    body: {
      kind: 'bigquery#projectList',
      etag: String(projectIds.length),
      projects: projects.map((id) => ({
        kind: 'bigquery#project',
        id,
        numericId: projectNumber(id),
        projectReference: { projectId: id },
        friendlyName: id,
      })),
      totalItems: projectIds.length,
    },
  };
}

/**
 * The request without the top-level members that are JSON null. bq (googleapiclient) sends
 * every optional member it was not given as null, e.g. `templateSuffix: null` in insertAll and
 * `schema: null` in `bq update`'s tables.patch; the service reads those as absent.
 */
export function withoutNullMembers<T extends CompatRequest>(request: T): T {
  return {
    ...request,
    body: Object.fromEntries(Object.entries(request.body).filter(([, value]) => value !== null)),
  };
}

/**
 * A datasets.patch or tables.patch request as the service reads it: without top-level nulls,
 * and with `labels` patching the resource's labels rather than replacing them (a label set to
 * null is removed). `bq update` sends `labels: {}` whatever it changes, and
 * `{"labels": {"team": null}}` for `--clear_label team`.
 */
export function asPatch<T extends CompatRequest>(request: T, warehouse: Warehouse): T {
  const patch = withoutNullMembers(request);
  const { labels } = patch.body;
  if (typeof labels !== 'object' || labels === null || Array.isArray(labels)) return patch;
  const [projectId = '', datasetId = '', tableId] = patch.params;
  const resource =
    tableId === undefined
      ? warehouse.findDataset(projectId, datasetId)
      : warehouse.findTable({ projectId, datasetId, tableId });
  const merged: Record<string, unknown> = { ...resource?.labels };
  for (const [key, value] of Object.entries(labels)) {
    if (value === null) delete merged[key];
    else merged[key] = value;
  }
  return { ...patch, body: { ...patch.body, labels: merged } };
}
