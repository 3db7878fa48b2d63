import { createInterface } from 'node:readline';
import { createClient, type ApiClient } from './client';
import { CliError, EXIT } from './exit-codes';
import { parseFilter, type RowPredicate } from './filter';
import { parseFormat, render, type Format, type View } from './output';
import { resolveTarget, type Target } from './target';

/** Where the CLI reads and writes: the process's streams, or a test's. */
export interface Io {
  stdout: { write(chunk: string | Uint8Array): unknown; isTTY?: boolean };
  stderr: { write(chunk: string): unknown; isTTY?: boolean };
  /** Opened only when read (a prompt, `-` as a file), so nothing else ever waits on it. */
  stdin: () => NodeJS.ReadableStream;
  stdinIsTTY: boolean;
  env: Readonly<Record<string, string | undefined>>;
}

/** The options every command takes (commander's globals). */
export interface GlobalOptions {
  api?: string;
  as?: string;
  impersonateServiceAccount?: string;
  audience?: string;
  format?: string;
  filter?: string;
  quiet?: boolean;
}

/**
 * One invocation: the target and its client (made on first use), the output format, and the
 * terminal rules. Data goes to stdout; notes, prompts, progress and colour go to stderr, and
 * prompts, progress and colour only when stderr is a terminal.
 */
export class Context {
  readonly format: Format;
  /** The format was chosen (`--format`), not defaulted. */
  readonly formatGiven: boolean;
  readonly quiet: boolean;
  /** Colour on stderr: a terminal, and neither NO_COLOR nor TERM=dumb. */
  readonly color: boolean;
  private readonly filter: RowPredicate | undefined;
  private readonly target: Target;
  private apiClient: ApiClient | undefined;

  constructor(
    readonly io: Io,
    options: GlobalOptions,
  ) {
    this.target = resolveTarget(options, io.env);
    this.formatGiven = options.format !== undefined;
    this.format = parseFormat(options.format ?? (io.stdout.isTTY === true ? 'table' : 'json'));
    this.filter = options.filter === undefined ? undefined : parseFilter(options.filter);
    this.quiet = options.quiet === true;
    const noColor = (io.env['NO_COLOR'] ?? '') !== '' || io.env['TERM'] === 'dumb';
    this.color = io.stderr.isTTY === true && !noColor;
  }

  get client(): ApiClient {
    this.apiClient ??= createClient(this.target);
    return this.apiClient;
  }

  /** A terminal a person sits at: prompts and progress are shown. */
  get interactive(): boolean {
    return this.io.stderr.isTTY === true && this.io.stdinIsTTY;
  }

  /** Progress on stderr: only on a terminal, and never with --quiet. */
  get showProgress(): boolean {
    return this.io.stderr.isTTY === true && !this.quiet;
  }

  /** Writes a command's answer to stdout in the chosen format (a list filtered by --filter). */
  emit(data: unknown, view: View): void {
    const shown =
      this.filter !== undefined && Array.isArray(data) ? data.filter(this.filter) : data;
    this.io.stdout.write(render(shown, view, this.format));
  }

  /** A line for the person, on stderr (never mixed into the data on stdout). */
  note(message: string): void {
    this.io.stderr.write(`${message}\n`);
  }

  paint(code: 'red' | 'green' | 'yellow' | 'dim' | 'bold', text: string): string {
    if (!this.color) return text;
    const codes = { red: 31, green: 32, yellow: 33, dim: 2, bold: 1 } as const;
    return `\u001b[${codes[code]}m${text}\u001b[0m`;
  }

  /**
   * Asks before a change, on a terminal only: `--quiet`, or no terminal (a script, a pipe),
   * goes ahead without asking, so nothing ever waits on stdin. A "no" stops with exit 1.
   */
  async confirm(question: string): Promise<void> {
    if (this.quiet || !this.interactive) return;
    const rl = createInterface({ input: this.io.stdin(), terminal: false });
    this.io.stderr.write(`${question} [y/N] `);
    const answer = await new Promise<string>((resolve) => {
      rl.once('line', resolve);
      rl.once('close', () => resolve(''));
    });
    rl.close();
    if (!/^y(es)?$/i.test(answer.trim()))
      throw new CliError('not confirmed: nothing was changed', EXIT.error);
  }
}
