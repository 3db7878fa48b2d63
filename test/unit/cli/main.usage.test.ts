import { Readable } from 'node:stream';
import { runCli } from '../../../src/cli/main';
import { renderProgress } from '../../../src/cli/progress';

/** Runs the CLI in-process against nothing: usage errors never reach the network. */
async function run(argv: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, {
    stdout: { write: (s: string | Uint8Array) => void (stdout += String(s)) },
    stderr: { write: (s: string) => void (stderr += s) },
    stdin: () => Readable.from([]),
    stdinIsTTY: false,
    // A port nothing listens on, should a command get past its usage checks (it must not).
    env: { DSR_API: 'http://127.0.0.1:9' },
  });
  return { code, stdout, stderr };
}

describe('usage errors exit 2, with a message on stderr and nothing on stdout', () => {
  it.each([
    [['requests', 'list', '--bogus'], /unknown option '--bogus'/],
    [['requests', 'show'], /missing required argument 'id'/],
    [['requests', 'frobnicate'], /unknown command 'frobnicate'/],
    [['requests', 'deny', 'x1'], /required option '--reason <reason>' not specified/],
    [['requests', 'deny', 'x1', '--reason', 'bored'], /Allowed choices are unverifiable_identity/],
    [['--format', 'xml', 'tasks', 'list'], /--format must be table, json, yaml, csv or value/],
    [['--filter', 'status', 'tasks', 'list'], /--filter: cannot read "status"/],
    [['requests', 'list', '--limit', '0'], /--limit must be a whole number from 1/],
    [['requests', 'watch', 'x1', '--interval', 'soon'], /--interval must be a number of seconds/],
    [['--api', 'nope', 'tasks', 'list'], /not a URL/],
    [['tasks', 'audit', 't1', '--subject', 'novalue'], /--subject takes NAME=VALUE/],
    [['requests'], /Usage: dsr requests/],
  ])('%j', async (argv, message) => {
    const { code, stdout, stderr } = await run(argv);
    expect({ code, stdout }).toEqual({ code: 2, stdout: '' });
    expect(stderr).toMatch(message);
    expect(stderr).not.toMatch(/\n\s+at /); // never a stack trace
  });

  it('help is not an error', async () => {
    const { code, stdout } = await run(['--help']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/Usage: dsr/);
  });
});

describe('watch progress', () => {
  it('draws a bar per instance state and the running cost, without colour when told so', () => {
    const lines = renderProgress(
      {
        id: 'r1',
        status: 'in_progress',
        cost: { bytesBilled: 200 * 2 ** 20, usd: 0.001192091 },
        instances: [
          { taskId: 'a', state: 'succeeded' },
          { taskId: 'b', state: 'running' },
          { taskId: 'c', state: 'succeeded' },
          { taskId: 'd', state: 'pending_approval' },
        ],
      },
      (_c, t) => t,
      8,
    );
    expect(lines).toEqual([
      'r1  in_progress',
      '  pending_approval ██░░░░░░ 1/4',
      '  running          ██░░░░░░ 1/4',
      '  succeeded        ████░░░░ 2/4',
      '  cost  200.0 MiB billed, $0.001192091',
    ]);
  });
});
