import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { freePort } from '../../helpers/free-port';
import { waitFor } from '../../helpers/wait-for';

const ROOT = join(__dirname, '..', '..', '..');

describe('Cloud Tasks emulator CLI', () => {
  it('prints the ready line, serves the configured queue, and exits cleanly on SIGTERM', async () => {
    const [grpcPort, httpPort] = [await freePort(), await freePort()];
    const child = spawn(
      process.execPath,
      [
        join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs'),
        join(ROOT, 'emulators', 'cloud-tasks', 'cli.ts'),
        `--port=${grpcPort}`,
        `--http-port=${httpPort}`,
        '--project=cli-test',
        '--location=europe-west1',
        '--queue=work',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) =>
      child.on('exit', (code) => resolve(code)),
    );
    try {
      await waitFor(
        () => output,
        (o) => o.includes('\n'),
        { what: 'the ready line' },
      );
      expect(output).toBe(
        `cloud-tasks emulator listening on grpc 127.0.0.1:${grpcPort} http 127.0.0.1:${httpPort}\n`,
      );
      const res = await fetch(
        `http://127.0.0.1:${httpPort}/v2/projects/cli-test/locations/europe-west1/queues/work`,
      );
      expect(res.status).toBe(200);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  });
});
