import { Readable } from 'node:stream';
import { Context, type Io } from '../../../src/cli/context';

/** A context on in-memory streams: what was asked on stderr, and whether stdin was opened. */
function contextWith(options: { tty: boolean; answer?: string; quiet?: boolean; env?: Io['env'] }) {
  const seen = { stderr: '', stdinOpened: false };
  const io: Io = {
    stdout: { write: () => true, isTTY: options.tty },
    stderr: { write: (s: string) => void (seen.stderr += s), isTTY: options.tty },
    stdin: () => {
      seen.stdinOpened = true;
      return Readable.from(options.answer === undefined ? [] : [options.answer]);
    },
    stdinIsTTY: options.tty,
    env: options.env ?? {},
  };
  return { ctx: new Context(io, { quiet: options.quiet ?? false }), seen };
}

describe('confirmation prompts', () => {
  it('ask on a terminal, and go ahead on yes', async () => {
    const { ctx, seen } = contextWith({ tty: true, answer: 'y\n' });
    await ctx.confirm('Approve request r1?');
    expect(seen.stderr).toBe('Approve request r1? [y/N] ');
  });

  it.each(['n\n', '\n', 'yess\n', ''])(
    'stop with exit 1 on %j, nothing changed',
    async (answer) => {
      const { ctx } = contextWith({ tty: true, answer });
      await expect(ctx.confirm('Cancel request r1?')).rejects.toMatchObject({
        exitCode: 1,
        message: 'not confirmed: nothing was changed',
      });
    },
  );

  it('never ask, nor open stdin, with --quiet or without a terminal', async () => {
    for (const options of [{ tty: true, quiet: true }, { tty: false }]) {
      const { ctx, seen } = contextWith(options);
      await ctx.confirm('Deny request r1?');
      expect(seen).toEqual({ stderr: '', stdinOpened: false });
    }
  });
});

describe('terminal rules', () => {
  it('defaults to a table on a terminal and JSON in a pipe', () => {
    expect(contextWith({ tty: true }).ctx.format).toEqual({ kind: 'table' });
    expect(contextWith({ tty: false }).ctx.format).toEqual({ kind: 'json' });
  });

  it('colours stderr on a terminal only, and never under NO_COLOR or TERM=dumb', () => {
    expect(contextWith({ tty: true }).ctx.paint('red', 'x')).toBe('\u001b[31mx\u001b[0m');
    expect(contextWith({ tty: false }).ctx.paint('red', 'x')).toBe('x');
    expect(contextWith({ tty: true, env: { NO_COLOR: '1' } }).ctx.paint('red', 'x')).toBe('x');
    expect(contextWith({ tty: true, env: { TERM: 'dumb' } }).ctx.paint('red', 'x')).toBe('x');
  });

  it('draws progress on a terminal only, and not with --quiet', () => {
    expect(contextWith({ tty: true }).ctx.showProgress).toBe(true);
    expect(contextWith({ tty: true, quiet: true }).ctx.showProgress).toBe(false);
    expect(contextWith({ tty: false }).ctx.showProgress).toBe(false);
  });
});
