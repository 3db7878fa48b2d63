import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../helpers/free-port';
import { waitFor } from '../../helpers/wait-for';
import { BigQuery, first } from './emulator-fixture';

const CLI = join(__dirname, '../../../emulators/bigquery/cli.ts');

describe('emulators/bigquery/cli.ts', () => {
  let child: ChildProcessWithoutNullStreams | undefined;
  let dir = '';

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bq-emulator-cli-'));
  });

  afterAll(async () => {
    if (child !== undefined && child.exitCode === null) child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  });

  it('prints the ready line, serves the seed, and stops cleanly on SIGTERM', async () => {
    const seed = join(dir, 'seed.json');
    await writeFile(
      seed,
      JSON.stringify({
        datasets: [
          {
            datasetId: 'demo',
            tables: [
              {
                tableId: 'contacts',
                schema: [{ name: 'email', type: 'STRING' }],
                rows: [{ email: 'a@b.c' }],
              },
            ],
          },
        ],
      }),
    );
    const port = await freePort();
    child = spawn(
      process.execPath,
      [
        require.resolve('tsx/cli'),
        CLI,
        '--port',
        String(port),
        '--project',
        'cli-project',
        '--seed',
        seed,
        '--min-job-ms',
        '0',
      ],
      { env: { ...process.env, METADATA_SERVER_DETECTION: 'none' } },
    );
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const exited = new Promise<number | null>((resolve) =>
      child?.on('exit', (code) => resolve(code)),
    );

    await waitFor(
      () => stdout,
      (text) => text.includes('\n'),
      { what: 'the ready line' },
    );
    expect(stdout).toBe(`bigquery emulator listening on http://127.0.0.1:${port}\n`);

    const bigquery = new BigQuery({
      projectId: 'cli-project',
      apiEndpoint: `http://127.0.0.1:${port}`,
    });
    expect(await first<unknown[]>(bigquery.query('SELECT email FROM demo.contacts'))).toEqual([
      { email: 'a@b.c' },
    ]);

    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
