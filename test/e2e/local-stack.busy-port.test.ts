import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { PortInUseError, startLocalStack } from '../../scripts/lib/local-stack';

const ROOT = join(__dirname, '..', '..');

/** Holds a port on 127.0.0.1, as another program would. */
async function holdPort(): Promise<{ port: number; server: Server }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return { port: address.port, server };
}

/** `npm start` with these variables: its exit code and what it printed. */
function npmStart(env: Record<string, string>) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(
      process.execPath,
      [join(ROOT, 'node_modules/tsx/dist/cli.mjs'), join(ROOT, 'scripts/local-stack.ts')],
      { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('npm start on a busy port', () => {
  let held: { port: number; server: Server };
  beforeAll(async () => {
    held = await holdPort();
  });
  afterAll(async () => {
    await new Promise((resolve) => held.server.close(resolve));
  });

  it.each([
    ['PORT', 'api'],
    ['RUN_TASK_PORT', 'run-task'],
    ['DISPATCH_PORT', 'dispatch'],
  ])(
    'names the port, %s and how to find the holder in one line, and exits 1',
    async (variable, fn) => {
      // The api's own default (8080) may be taken on a shared machine: give it a free one.
      const env: Record<string, string> = variable === 'PORT' ? {} : { PORT: '0' };
      const { code, stdout, stderr } = await npmStart({ ...env, [variable]: String(held.port) });
      expect(code).toBe(1);
      expect(stdout).toBe('');
      expect(stderr.trim().split('\n')).toEqual([
        `npm start: port ${held.port} (${fn}) is already in use: set ${variable} to a free port ` +
          `(e.g. ${variable}=${held.port + 10} npm start), or find who holds it with ` +
          `\`lsof -nP -iTCP:${held.port} -sTCP:LISTEN\` or \`ss -ltnp 'sport = :${held.port}'\``,
      ]);
      expect(stderr).not.toMatch(/EADDRINUSE|\bat .*\.ts:\d+/);
    },
  );

  it('refuses a port that is not a number with exit 2, starting nothing', async () => {
    const { code, stderr } = await npmStart({ PORT: 'eighty' });
    expect(code).toBe(2);
    expect(stderr.trim()).toBe(
      'npm start: PORT=eighty is not a port: use a number from 0 to 65535',
    );
  });

  it('startLocalStack fails with a PortInUseError before starting any emulator', async () => {
    const started = startLocalStack({ apiPort: 0, dispatchPort: held.port });
    await expect(started).rejects.toBeInstanceOf(PortInUseError);
    await expect(started).rejects.toMatchObject({ port: held.port, fn: 'dispatch' });
  });
});
