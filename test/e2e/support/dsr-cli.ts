import { spawn } from 'node:child_process';
import { join } from 'node:path';

const BIN = join(__dirname, '..', '..', '..', 'bin', 'dsr.js');

export interface DsrResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** How long the command took, in ms. */
  ms: number;
}

export interface DsrOptions {
  env?: Record<string, string>;
  /** Written to stdin, which is then closed. */
  stdin?: string;
  /** Leave stdin open instead (a prompt would wait on it for ever). */
  keepStdinOpen?: boolean;
  /** Kill it (and fail) after this long. */
  timeoutMs?: number;
}

/**
 * Runs `node bin/dsr.js …` as a user's shell would, with stdout and stderr piped (so never a
 * terminal): the exit code and everything it wrote.
 */
export function dsr(args: readonly string[], options: DsrOptions = {}): Promise<DsrResult> {
  const started = Date.now();
  const env: Record<string, string> = {};
  for (const key of ['PATH', 'HOME', 'TMPDIR', 'LANG']) {
    const value = process.env[key];
    if (value !== undefined) env[key] = value;
  }
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { ...env, ...options.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  if (options.keepStdinOpen !== true) child.stdin.end(options.stdin ?? '');
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(
          `dsr ${args.join(' ')} still running after ${options.timeoutMs ?? 60_000} ms; stderr: ${stderr}`,
        ),
      );
    }, options.timeoutMs ?? 60_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      if (options.keepStdinOpen === true) child.stdin.destroy();
      resolve({ code, stdout, stderr, ms: Date.now() - started });
    });
  });
}
