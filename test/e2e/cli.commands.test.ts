import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { startLocalStack, type LocalStack } from '../../scripts/lib/local-stack';
import { testProjectId } from '../helpers/project-id';
import { runCli } from '../../src/cli/main';
import { dsr, type DsrOptions, type DsrResult } from './support/dsr-cli';

/**
 * `dsr` as a user runs it: spawned (node bin/dsr.js) with piped stdout against the local stack.
 * Two tasks of its own make every outcome reachable: `cli-ok` succeeds and `cli-fails` fails
 * for good, each only for subjects with its identifier (other tasks skip those subjects).
 */
const OK_TASK = `
id: cli-ok
name: CLI test task that succeeds
jobType: records
executor: demo.sleep
config: { ms: 20 }
requiredIdentifiers: [cliOkId]
maxAttempts: 1
team: cli-tests
`;
const FAILING_TASK = {
  id: 'cli-fails',
  name: 'CLI test task that fails',
  jobType: 'records',
  executor: 'demo.sleep',
  config: { ms: 20, failTimes: 5, failPermanently: true },
  requiredIdentifiers: ['cliFailId'],
  maxAttempts: 1,
};
const ESC = '\u001b';

interface Filed {
  source: string;
  id: string;
  externalId?: string;
  status: string;
  result: 'filed' | 'existing';
}

describe('dsr, the command line, against the local stack', () => {
  let stack: LocalStack;
  let dir: string;
  const outputs: DsrResult[] = [];
  const run = async (args: string[], options: DsrOptions = {}) => {
    const result = await dsr(args, {
      ...options,
      env: { DSR_API: stack.apiUrl, ...options.env },
    });
    outputs.push(result);
    return result;
  };
  const json = <T>(r: DsrResult): T => JSON.parse(r.stdout) as T;
  /** Files one request through `dsr requests file -` and answers its id. */
  const file = async (request: Record<string, unknown>) => {
    const r = await run(['requests', 'file', '-'], { stdin: JSON.stringify(request) });
    expect(r.code).toBe(0);
    const [filed] = json<Filed[]>(r);
    return filed?.id ?? '';
  };
  const watch = (id: string) =>
    run(['requests', 'watch', id, '--interval', '0.3', '--timeout', '60'], { timeoutMs: 90_000 });

  beforeAll(async () => {
    stack = await startLocalStack({
      projectId: testProjectId('cli'),
      apiPort: 0,
      dispatchIntervalMs: 1000,
    });
    dir = await mkdtemp(join(tmpdir(), 'dsr-cli-'));
    await writeFile(join(dir, 'ok.yaml'), OK_TASK);
    await writeFile(join(dir, 'fails.json'), JSON.stringify(FAILING_TASK));
    for (const name of ['ok.yaml', 'fails.json']) {
      const r = await run(['tasks', 'register', join(dir, name)]);
      if (r.code !== 0) throw new Error(`tasks register ${name}: ${r.code} ${r.stderr}`);
    }
  }, 180_000);
  afterAll(async () => {
    if (stack !== undefined) {
      // A function drains its connections on SIGTERM, which a loaded machine (a dispatch run
      // over this file's 200 held requests) can stretch past the hook's timeout; nothing of
      // this stack outlives the file, so its functions are killed outright.
      await Promise.all(
        (['api', 'runTask', 'dispatch'] as const).map((fn) => stack.kill(fn, 'SIGKILL')),
      );
      await stack.stop();
    }
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  }, 120_000);

  it('prints JSON in a pipe, and tables, YAML and value() when asked', async () => {
    const list = await run(['tasks', 'list']);
    expect(list.code).toBe(0);
    const tasks = json<{ id: string; version: number }[]>(list);
    expect(tasks.map((t) => t.id)).toEqual(expect.arrayContaining(['cli-ok', 'cli-fails']));

    const table = await run(['tasks', 'list', '--format', 'table']);
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID\s+JOB_TYPE\s+EXECUTOR\s+ACTIVE\s+PAUSED\s+VERSION/);
    expect(lines).toContainEqual(
      expect.stringMatching(/^cli-ok\s+records\s+demo\.sleep\s+true\s+1\s+/),
    );
    expect(lines).toHaveLength(tasks.length + 1);

    const yaml = await run(['tasks', 'show', 'cli-fails', '--format', 'yaml']);
    expect(parseYaml(yaml.stdout)).toMatchObject({ id: 'cli-fails', maxAttempts: 1 });

    const values = await run([
      'tasks',
      'list',
      '--format',
      'value(id,jobType)',
      '--filter',
      'id~^cli-',
    ]);
    expect(values.stdout.split('\n').filter(Boolean).sort()).toEqual([
      'cli-fails\trecords',
      'cli-ok\trecords',
    ]);
  });

  it('files a request, watches it to completion (exit 0), and shows its runs and evidence', async () => {
    const id = await file({
      type: 'records',
      subject: { cliOkId: 'ok-1' },
      externalId: 'cli-ok-1',
    });
    const watched = await watch(id);
    expect(watched.code).toBe(0);
    expect(json<{ status: string }>(watched).status).toBe('completed');
    expect(watched.stderr).toBe(''); // no progress drawn into a pipe

    const runs = json<{ taskId: string; status: string }[]>(await run(['runs', 'list', id]));
    expect(runs).toEqual([expect.objectContaining({ taskId: 'cli-ok', status: 'succeeded' })]);

    const evidence = await run(['evidence', 'show', id]);
    expect(evidence.code).toBe(0);
    expect(json<{ verified: boolean }>(evidence).verified).toBe(true);

    const shown = await run(['requests', 'show', id, '--format', 'table']);
    expect(shown.stdout).toMatch(/^status:\s+completed$/m);
    expect(shown.stdout).toMatch(/^cli-ok\s+succeeded\s+1\/1\s+\$0\.00\s*$/m);

    const found = await run(['requests', 'list', '--external-id', 'cli-ok-1']);
    expect(found.code).toBe(0);
    expect(json<{ id: string }[]>(found).map((r) => r.id)).toEqual([id]);
  });

  it('watch exits 3 when the request completed with errors', async () => {
    const id = await file({ type: 'records', subject: { cliFailId: 'f-1' } });
    const watched = await watch(id);
    expect({ code: watched.code, status: json<{ status: string }>(watched).status }).toEqual({
      code: 3,
      status: 'completed_with_errors',
    });
  });

  it('watch exits 4 when the request was denied, and 4 when it was cancelled', async () => {
    const gated = await file({ type: 'deletion', subject: { gaClientId: 'GA1.2.cli' } });
    const own = await run(['requests', 'approve', gated]);
    expect(own.code).toBe(1);
    expect(own.stderr).toMatch(/^error: self_approval \(403\): /);
    const denied = await run([
      '--as',
      'approver@localhost',
      'requests',
      'deny',
      gated,
      '--reason',
      'exempt',
      '--note',
      'cli',
    ]);
    expect(denied.code).toBe(0);
    expect(json<{ status: string }>(denied).status).toBe('denied');
    expect((await watch(gated)).code).toBe(4);

    const held = await file({
      type: 'records',
      subject: { cliOkId: 'held-1' },
      verification: 'pending',
    });
    expect((await run(['requests', 'cancel', held, '--quiet'])).code).toBe(0);
    const watched = await watch(held);
    expect({ code: watched.code, status: json<{ status: string }>(watched).status }).toEqual({
      code: 4,
      status: 'cancelled',
    });
  });

  it('bulk-approves by filter, follows the operation, and pauses and resumes a task', async () => {
    const ids = [];
    for (const n of [1, 2])
      ids.push(await file({ type: 'deletion', subject: { gaClientId: `GA.bulk.${n}` } }));
    const bulk = await run([
      '--as',
      'approver@localhost',
      'requests',
      'bulk',
      '--action',
      'approve',
      '--reason',
      'cli test',
      '--task',
      'ga-user-deletion',
      '--status',
      'awaiting_approval',
      '--wait',
      '--interval',
      '0.5',
    ]);
    expect(bulk.code).toBe(0);
    expect(json<{ state: string; progress: { succeeded: number } }>(bulk)).toMatchObject({
      state: 'done',
      progress: { succeeded: 2, failed: 0 },
    });
    for (const id of ids) expect((await watch(id)).code).toBe(0);

    const paused = await run(['tasks', 'pause', 'cli-ok', '--reason', 'partner down']);
    expect(paused.code).toBe(0);
    expect(json<{ paused?: { reason?: string } }>(paused).paused?.reason).toBe('partner down');
    const resumed = await run(['tasks', 'resume', 'cli-ok', '--reason', 'partner back']);
    expect(json<{ paused?: unknown }>(resumed).paused).toBeUndefined();
  });

  it('draws watch progress on stderr only when it is a terminal, and only data on stdout', async () => {
    const id = await file({ type: 'records', subject: { cliOkId: 'tty-1' } });
    let stdout = '';
    let stderr = '';
    const code = await runCli(['requests', 'watch', id, '--interval', '0.3', '--format', 'json'], {
      stdout: { write: (s: string | Uint8Array) => void (stdout += String(s)) },
      stderr: { write: (s: string) => void (stderr += s), isTTY: true },
      stdin: () => process.stdin,
      stdinIsTTY: false,
      env: { DSR_API: stack.apiUrl, NO_COLOR: '1' },
    });
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ id, status: 'completed' });
    expect(stdout).not.toContain(ESC);
    // Bars redrawn in place (cursor movement), without colour under NO_COLOR.
    expect(stderr).toMatch(/succeeded\s+█+/);
    expect(stderr).toMatch(/cost {2}0 B billed, \$0\.0/);
    for (const colour of [31, 32, 33]) expect(stderr).not.toContain(`${ESC}[${colour}m`);
    expect(stderr).toContain(`${ESC}[2K`);
  });

  it('prints an API error as its code, message and field issues on stderr, exit 1, no stack', async () => {
    const missing = await run(['requests', 'show', 'x0000000000000000000000000000000']);
    expect(missing.code).toBe(1);
    expect(missing.stdout).toBe('');
    expect(missing.stderr).toMatch(/^error: not_found \(404\): /);

    const id = await file({
      type: 'records',
      subject: { cliOkId: 'ext-1' },
      verification: 'pending',
    });
    const bad = await run([
      '--as',
      'approver@localhost',
      'requests',
      'extend',
      id,
      '--reason',
      ' ',
    ]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(
      /^error: validation_failed \(400\): .*\n {2}reason: reason must not be empty/,
    );

    const away = await run(['tasks', 'list'], { env: { DSR_API: 'http://127.0.0.1:9' } });
    expect(away.code).toBe(1);
    expect(away.stderr).toMatch(/^error: cannot reach the api at http:\/\/127\.0\.0\.1:9: /);
    for (const r of [missing, bad, away]) expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('exits 2 on a usage error, before calling the api', async () => {
    const unknown = await run(['requests', 'list', '--colour', 'red']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown option '--colour'/);
    const format = await run(['--format', 'xml', 'tasks', 'list']);
    expect(format.code).toBe(2);
  });

  it('never waits on stdin without a terminal, with or without --quiet', async () => {
    for (const quiet of [['--quiet'], []]) {
      const id = await file({
        type: 'records',
        subject: { cliOkId: `q-${quiet.length}` },
        verification: 'pending',
      });
      const r = await run([...quiet, 'requests', 'cancel', id], {
        keepStdinOpen: true,
        timeoutMs: 20_000,
      });
      expect(r.code).toBe(0);
      expect(r.stderr).not.toMatch(/\[y\/N\]/);
      expect(json<{ status: string }>(r).status).toBe('cancelled');
    }
  });

  it('files a CSV of 200 requests, and a second run files none again', async () => {
    const rows = Array.from(
      { length: 200 },
      // Held for verification: nothing runs, so the stack is not loaded with 200 requests' work.
      (_, i) => `records,gdpr,cli-csv-${i},,"row ${i}, of 200",pending,c-${i},`,
    );
    const path = join(dir, 'two-hundred.csv');
    await writeFile(
      path,
      ['type,regulation,externalId,receivedAt,notes,verification,cliOkId,email', ...rows].join(
        '\n',
      ),
    );

    const first = await run(['requests', 'file', path], { timeoutMs: 120_000 });
    expect(first.code).toBe(0);
    const filed = json<Filed[]>(first);
    expect(filed).toHaveLength(200);
    expect(filed.filter((f) => f.result === 'filed')).toHaveLength(200);
    expect(new Set(filed.map((f) => f.id)).size).toBe(200);
    expect(filed.find((f) => f.source === 'line 42')).toMatchObject({ externalId: 'cli-csv-40' });

    const second = await run(['requests', 'file', path], { timeoutMs: 120_000 });
    expect(second.code).toBe(0);
    const again = json<Filed[]>(second);
    expect(again.filter((f) => f.result === 'filed')).toEqual([]);
    expect(again.map((f) => f.id).sort()).toEqual(filed.map((f) => f.id).sort());
    expect(second.stderr).toMatch(/^0 filed, 200 filed before/m);
  }, 240_000);

  it('files the good rows of a CSV with a bad one, reports the bad row by its line, and exits 1', async () => {
    const path = join(dir, 'one-bad.csv');
    await writeFile(
      path,
      [
        'type,externalId,notes,cliOkId,email',
        'records,cli-bad-1,,b-1,',
        'records,cli-bad-2,"a note\nover two lines",b-2,',
        'erasure,cli-bad-3,,b-3,',
        'records,cli-bad-4,,,',
        'records,cli-bad-5,,b-5,',
      ].join('\n'),
    );
    const r = await run(['requests', 'file', path]);
    expect(r.code).toBe(1);
    expect(json<Filed[]>(r).map((f) => [f.source, f.externalId, f.result])).toEqual([
      ['line 2', 'cli-bad-1', 'filed'],
      ['line 3', 'cli-bad-2', 'filed'],
      ['line 7', 'cli-bad-5', 'filed'],
    ]);
    expect(r.stderr).toMatch(/^error: line 5: type: type must be one of: deletion, records$/m);
    expect(r.stderr).toMatch(/^error: line 6: subject: the subject needs at least one identifier/m);
  });

  it('writes no ANSI escape codes into a pipe, on stdout or stderr', () => {
    expect(outputs.length).toBeGreaterThan(20);
    for (const r of outputs) {
      expect(r.stdout).not.toContain(ESC);
      expect(r.stderr).not.toContain(ESC);
    }
  });
});
