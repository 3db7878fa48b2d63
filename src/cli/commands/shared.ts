import type { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import { Context } from '../context';
import { CliError, UsageError } from '../exit-codes';

/** What each command module needs from the program: a context per invocation, an exit code. */
export interface Cli {
  context(command: Command): Context;
  setExit(code: number): void;
}

type Body = (
  ctx: Context,
  args: string[],
  options: Record<string, unknown>,
) => Promise<number | void>;

/** Wraps a command's body as a commander action: its context, its arguments, its exit code. */
export function act(cli: Cli, body: Body): (...args: unknown[]) => Promise<void> {
  return async (...args: unknown[]) => {
    const command = args[args.length - 1] as Command;
    const options = (args[args.length - 2] ?? {}) as Record<string, unknown>;
    const positional = args.slice(0, -2).map((a) => (Array.isArray(a) ? a.join(' ') : String(a)));
    const code = await body(cli.context(command), positional, options);
    cli.setExit(code ?? 0);
  };
}

/** A file's text, or stdin's for `-`. */
export async function readInput(ctx: Context, file: string): Promise<string> {
  if (file === '-') {
    const chunks: Buffer[] = [];
    for await (const chunk of ctx.io.stdin()) {
      chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
    }
    return Buffer.concat(chunks).toString('utf8');
  }
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CliError(
      `cannot read ${file}: ${code === 'ENOENT' ? 'no such file' : (err as Error).message}`,
    );
  }
}

/** Collects a repeatable option's values (`--task a --task b`). */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** A whole number option, for commander's argParser. */
export function wholeNumber(name: string, min = 1, max = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || n < min || n > max) {
      throw new UsageError(`${name} must be a whole number from ${min} to ${max}; got ${value}`);
    }
    return n;
  };
}

/** A positive number of seconds, for commander's argParser. */
export function seconds(name: string, min = 0.1) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n < min) {
      throw new UsageError(`${name} must be a number of seconds, at least ${min}; got ${value}`);
    }
    return n;
  };
}

/** Path segments are encoded, so an id can never reach another route. */
export const seg = (value: string) => encodeURIComponent(value);

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** `2026-03-01T12:00:00.000Z` → `2026-03-01 12:00`; other text unchanged. */
export function shortTime(value: unknown): string {
  if (typeof value !== 'string') return '';
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})/.exec(value);
  return m === null ? value : `${m[1]} ${m[2]}`;
}

/** `$0.001192091`: to the nano-dollar BigQuery costs are counted in, trailing zeros dropped. */
export function usd(value: unknown): string {
  if (typeof value !== 'number') return '';
  return `$${value.toFixed(9).replace(/(\.\d\d\d*?)0+$/, '$1')}`;
}
