import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { readSdkDiscoveryDocument } from '../../../emulators/bigquery/bq-compat';
import { useBigQueryEmulator } from './emulator-fixture';

const run = promisify(execFile);

const PROJECT = 'bq-cli-project';
/** A bq call takes a second or two (it starts Python and runs `gcloud config list`). */
const BQ_TIMEOUT_MS = 30_000;
// Up to six bq calls a test; give a loaded machine room beyond the default 60 s.
jest.setTimeout(120_000);

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Google's `bq` CLI against the emulator, as docs/bq-cli.md tells a developer to run it. bq runs
 * asynchronously: the emulator shares this process and must keep serving.
 */
describe('BigQuery emulator through the bq CLI', () => {
  const ctx = useBigQueryEmulator(PROJECT);
  let configDir = '';
  let bigqueryrc = '';
  let env: NodeJS.ProcessEnv = {};

  beforeAll(async () => {
    configDir = await mkdtemp(join(tmpdir(), 'bq-cli-'));
    bigqueryrc = join(configDir, 'bigqueryrc');
    await writeFile(bigqueryrc, '');
    // A private gcloud configuration, so neither the user's gcloud settings nor any inherited
    // CLOUDSDK_* property (project, account, endpoint overrides) reaches bq.
    const inherited = Object.entries(process.env).filter(
      ([name]) => !name.startsWith('CLOUDSDK_') || /^CLOUDSDK_(BQ_)?PYTHON/.test(name),
    );
    env = {
      ...Object.fromEntries(inherited),
      CLOUDSDK_CONFIG: configDir,
      // Nothing may reach Google: no usage metrics, no update check, no metadata-server probe.
      CLOUDSDK_CORE_DISABLE_USAGE_REPORTING: 'true',
      CLOUDSDK_COMPONENT_MANAGER_DISABLE_UPDATE_CHECK: 'true',
      CLOUDSDK_CORE_CHECK_GCE_METADATA: 'false',
    };
    const found = await runBq(['version']).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') {
        throw new Error(
          "Google's bq CLI is not on PATH. It comes with the Google Cloud SDK (the Debian " +
            'package google-cloud-cli, or `gcloud components install bq`), which the test ' +
            'suite needs for the Firestore emulator anyway.',
        );
      }
      throw error;
    });
    expect(found.stdout).toMatch(/BigQuery CLI \d+\.\d+\.\d+/);
  });

  afterAll(async () => {
    await rm(configDir, { recursive: true, force: true });
  });

  function runBq(args: string[]): Promise<{ stdout: string; stderr: string }> {
    return run('bq', args, { env, timeout: BQ_TIMEOUT_MS, killSignal: 'SIGKILL' });
  }

  /** Runs `bq [global flags] command args…` and fails with its output if it exits non-zero. */
  async function bq(...args: string[]): Promise<string> {
    const { code, stdout, stderr } = await bqOutcome(...args);
    if (code !== 0) {
      throw new Error(`bq ${args.join(' ')} exited with ${code}:\n${stdout}\n${stderr}`);
    }
    return stdout;
  }

  async function bqJson<T>(...args: string[]): Promise<T> {
    return JSON.parse(await bq('--format=json', ...args)) as T;
  }

  async function bqOutcome(...args: string[]): Promise<Outcome> {
    const global = [
      `--api=${ctx.emulator.url}`,
      `--project_id=${PROJECT}`,
      // The `=` form matters: gcloud's bq wrapper then skips its own credential lookup.
      '--oauth_access_token=fake',
      `--bigqueryrc=${bigqueryrc}`,
      '--quiet',
    ];
    try {
      const { stdout, stderr } = await runBq([...global, ...args]);
      return { code: 0, stdout, stderr };
    } catch (error) {
      const failed = error as { code?: unknown; stdout?: string; stderr?: string };
      if (typeof failed.code !== 'number') throw error;
      return { code: failed.code, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
    }
  }

  it('creates a dataset and tables, a nested RECORD and a REPEATED field included (bq mk)', async () => {
    expect(await bq('mk', '--dataset', '--description=orders from bq', `${PROJECT}:shop`)).toBe(
      `Dataset '${PROJECT}:shop' successfully created.\n`,
    );
    expect(
      await bq('mk', '--table', 'shop.orders', 'id:INTEGER,customer:STRING,placed:TIMESTAMP'),
    ).toBe(`Table '${PROJECT}:shop.orders' successfully created.\n`);

    const schemaFile = join(configDir, 'profiles.schema.json');
    await writeFile(
      schemaFile,
      JSON.stringify([
        { name: 'id', type: 'INTEGER', mode: 'REQUIRED' },
        {
          name: 'contact',
          type: 'RECORD',
          fields: [
            { name: 'name', type: 'STRING' },
            { name: 'email', type: 'STRING' },
          ],
        },
        { name: 'tags', type: 'STRING', mode: 'REPEATED' },
      ]),
    );
    expect(await bq('mk', '--table', 'shop.profiles', schemaFile)).toBe(
      `Table '${PROJECT}:shop.profiles' successfully created.\n`,
    );
  });

  // Read-only calls run side by side: each bq call is mostly Python starting up.
  it('lists projects, datasets and tables (bq ls)', async () => {
    const [projects, datasets, tables, listing] = await Promise.all([
      bqJson('ls', '-p'),
      bqJson('ls'),
      bqJson<Array<{ tableReference: { tableId: string }; type: string }>>('ls', 'shop'),
      bq('ls', 'shop'),
    ]);
    expect(projects).toEqual([
      expect.objectContaining({ id: PROJECT, projectReference: { projectId: PROJECT } }),
    ]);
    expect(datasets).toEqual([
      expect.objectContaining({
        id: `${PROJECT}:shop`,
        datasetReference: { projectId: PROJECT, datasetId: 'shop' },
        location: 'US',
      }),
    ]);
    expect(tables.map((t) => [t.tableReference.tableId, t.type])).toEqual([
      ['orders', 'TABLE'],
      ['profiles', 'TABLE'],
    ]);
    // The human-readable listing too, as a developer sees it.
    expect(listing).toMatch(/tableId +Type[^\n]*\n[- ]+\n +orders +TABLE/);
  });

  it('shows a dataset and a table schema, nested fields included (bq show)', async () => {
    const [dataset, schema, table, pretty] = await Promise.all([
      bqJson('show', 'shop'),
      bqJson('show', '--schema', 'shop.profiles'),
      bqJson('show', 'shop.orders'),
      bq('show', 'shop.profiles'),
    ]);
    expect(dataset).toMatchObject({
      datasetReference: { projectId: PROJECT, datasetId: 'shop' },
      description: 'orders from bq',
    });
    expect(schema).toEqual([
      { name: 'id', type: 'INTEGER', mode: 'REQUIRED' },
      {
        name: 'contact',
        type: 'RECORD',
        mode: 'NULLABLE',
        fields: [
          { name: 'name', type: 'STRING', mode: 'NULLABLE' },
          { name: 'email', type: 'STRING', mode: 'NULLABLE' },
        ],
      },
      { name: 'tags', type: 'STRING', mode: 'REPEATED' },
    ]);
    expect(table).toMatchObject({
      id: `${PROJECT}:shop.orders`,
      type: 'TABLE',
      numRows: '0',
      schema: {
        fields: [
          { name: 'id', type: 'INTEGER', mode: 'NULLABLE' },
          { name: 'customer', type: 'STRING', mode: 'NULLABLE' },
          { name: 'placed', type: 'TIMESTAMP', mode: 'NULLABLE' },
        ],
      },
    });
    expect(pretty).toContain(`Table ${PROJECT}:shop.profiles`);
    expect(pretty).toContain('+- contact: record');
    expect(pretty).toContain('|- tags: string (repeated)');
  });

  it('updates a description and labels, patching labels the way the service does (bq update)', async () => {
    const updated = `Table '${PROJECT}:shop.orders' successfully updated.\n`;
    expect(
      await bq('update', '--set_label=team:data', '--set_label=tier:gold', 'shop.orders'),
    ).toBe(updated);
    // bq sends `labels: {}` with every update, and `tier: null` to clear one label.
    expect(await bq('update', '--description=order lines', 'shop.orders')).toBe(updated);
    expect(await bq('update', '--clear_label=tier', 'shop.orders')).toBe(updated);
    const table = await bqJson<{ description?: string; labels?: object }>('show', 'shop.orders');
    expect(table.description).toBe('order lines');
    expect(table.labels).toEqual({ team: 'data' });
  });

  it('streams rows in (bq insert) and queries them back (bq query --nouse_legacy_sql)', async () => {
    const orders = join(configDir, 'orders.json');
    await writeFile(
      orders,
      [
        { id: 1, customer: 'ann', placed: '2024-01-02 03:04:05' },
        { id: 2, customer: 'bob', placed: '2024-02-03 04:05:06.250' },
        { id: 3, customer: 'cy', placed: null },
      ]
        .map((row) => JSON.stringify(row))
        .join('\n'),
    );
    expect(await bq('insert', 'shop.orders', orders)).toBe('');
    const profiles = join(configDir, 'profiles.json');
    await writeFile(
      profiles,
      [
        { id: 1, contact: { name: 'ann', email: 'ann@example.com' }, tags: ['vip', 'eu'] },
        { id: 2, contact: null, tags: [] },
      ]
        .map((row) => JSON.stringify(row))
        .join('\n'),
    );
    expect(await bq('insert', 'shop.profiles', profiles)).toBe('');

    expect(
      await bqJson(
        'query',
        '--nouse_legacy_sql',
        'SELECT id, UPPER(customer) AS who, placed FROM shop.orders WHERE id < 3 ORDER BY id',
      ),
    ).toEqual([
      { id: '1', who: 'ANN', placed: '2024-01-02 03:04:05' },
      { id: '2', who: 'BOB', placed: '2024-02-03 04:05:06' },
    ]);
    expect(
      await bqJson('query', '--nouse_legacy_sql', 'SELECT * FROM shop.profiles ORDER BY id'),
    ).toEqual([
      { id: '1', contact: { name: 'ann', email: 'ann@example.com' }, tags: ['vip', 'eu'] },
      { id: '2', contact: null, tags: [] },
    ]);
    // jobs.query (bq query --rpc) as well as jobs.insert + getQueryResults (the default).
    expect(
      await bqJson(
        'query',
        '--rpc',
        '--nouse_legacy_sql',
        '--parameter=who:STRING:bob',
        'SELECT id, placed FROM shop.orders WHERE customer = @who',
      ),
    ).toEqual([{ id: '2', placed: '2024-02-03 04:05:06' }]);
    expect(
      await bq('query', '--nouse_legacy_sql', 'SELECT COUNT(*) AS n FROM shop.orders'),
    ).toMatch(/\| +n +\|\n\+-+\+\n\| +3 +\|/);
  });

  it('reads table rows (bq head)', async () => {
    const [all, page, nested, pretty] = await Promise.all([
      bqJson('head', 'shop.orders'),
      bqJson('head', '-n', '1', '-s', '1', 'shop.orders'),
      bqJson('head', 'shop.profiles'),
      bq('head', '-n', '1', 'shop.orders'),
    ]);
    expect(all).toEqual([
      { id: '1', customer: 'ann', placed: '2024-01-02 03:04:05' },
      { id: '2', customer: 'bob', placed: '2024-02-03 04:05:06' },
      { id: '3', customer: 'cy', placed: null },
    ]);
    expect(page).toEqual([{ id: '2', customer: 'bob', placed: '2024-02-03 04:05:06' }]);
    expect(nested).toEqual([
      { id: '1', contact: { name: 'ann', email: 'ann@example.com' }, tags: ['vip', 'eu'] },
      { id: '2', contact: null, tags: [] },
    ]);
    expect(pretty).toMatch(/\| +1 +\| +ann +\| +2024-01-02 03:04:05 +\|/);
  });

  it('reports the emulator errors the way the service does', async () => {
    const missing = await bqOutcome('query', '--nouse_legacy_sql', 'SELECT 1 FROM shop.missing');
    expect(missing.code).not.toBe(0);
    expect(missing.stdout.replace(/\s+/g, ' ')).toContain(
      `BigQuery error in query operation: Not found: Table ${PROJECT}:shop.missing was not found`,
    );
  });

  it('also works with the SDK discovery document passed as --discovery_file', async () => {
    const sdk = readSdkDiscoveryDocument();
    if (sdk === undefined) throw new Error('bq is installed but its discovery document is not');
    expect(await bqJson('--discovery_file', sdk.path, 'ls')).toEqual([
      expect.objectContaining({ datasetReference: { projectId: PROJECT, datasetId: 'shop' } }),
    ]);
  });
});
