import { Command, CommanderError } from 'commander';
import { isatty } from 'node:tty';
import { ApiError } from './client';
import { Context, type Io } from './context';
import { CliError, EXIT } from './exit-codes';
import { registerBulkCommands } from './commands/bulk';
import { registerCostCommands } from './commands/costs';
import { registerRecordsAndReports } from './commands/records-and-reports';
import { registerFileCommand } from './commands/requests-file';
import { registerRequestCommands } from './commands/requests';
import type { Cli } from './commands/shared';
import { registerTaskCommands } from './commands/tasks';

/**
 * `dsr`, the command line of dsr-taskrunner: the API's operations for people and scripts.
 * Runs one command line and answers its exit code (never calls process.exit, so tests can
 * run it in-process too); bin/dsr.js runs it for the shell.
 */
export async function runCli(argv: readonly string[], io: Io): Promise<number> {
  let exitCode: number = EXIT.ok;
  const program = buildProgram(io, {
    context: (command) => new Context(io, command.optsWithGlobals()),
    setExit: (code) => {
      exitCode = code;
    },
  });
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return exitCode;
  } catch (err) {
    return report(err, io);
  }
}

function buildProgram(io: Io, cli: Cli): Command {
  const program = new Command('dsr');
  // Set before any subcommand is made: subcommands copy these settings from their parent.
  program
    .exitOverride()
    .configureOutput({
      writeOut: (s) => void io.stdout.write(s),
      writeErr: (s) => void io.stderr.write(s),
    })
    .showHelpAfterError('(dsr --help for usage)')
    .description(
      'Operate dsr-taskrunner: file, follow, approve and retry data-subject requests; tasks, costs and reports.',
    )
    .option('--api <url>', 'the api (env DSR_API; default http://localhost:8080, the local stack)')
    .option('--as <email>', 'the caller, on a local stack only (X-Dev-Identity; env DSR_IDENTITY)')
    .option(
      '--impersonate-service-account <email>',
      'deployed: mint the ID token as this service account (env DSR_IMPERSONATE_SERVICE_ACCOUNT)',
    )
    .option(
      '--audience <aud>',
      "deployed: the ID token's audience (env DSR_AUDIENCE; default the api URL)",
    )
    .option(
      '--format <format>',
      'table, json, yaml, csv or value(field,...) (default: table on a terminal, json otherwise)',
    )
    .option(
      '--filter <expr>',
      'keep list rows matching all terms: field=value field!=value field~regex field>n',
    )
    .option('-q, --quiet', 'never prompt, print no notes or progress');
  const requests = program.command('requests').description('data-subject requests');
  registerFileCommand(requests, cli);
  registerRequestCommands(requests, cli);
  registerBulkCommands(program, requests, cli);
  registerTaskCommands(program, cli);
  registerCostCommands(program, cli);
  registerRecordsAndReports(program, cli);
  return program;
}

/** Prints an error for a person (code, message, field issues; never a stack) and its exit code. */
function report(err: unknown, io: Io): number {
  const noColor = (io.env['NO_COLOR'] ?? '') !== '' || io.env['TERM'] === 'dumb';
  const red = (t: string) => (io.stderr.isTTY === true && !noColor ? `\u001b[31m${t}\u001b[0m` : t);
  if (err instanceof CommanderError) {
    // Commander has printed its message already; help and --version are not errors.
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return EXIT.ok;
    return EXIT.usage;
  }
  if (err instanceof ApiError) {
    io.stderr.write(`${red('error')}: ${err.code} (${err.status}): ${err.message}\n`);
    for (const issue of err.issues) io.stderr.write(`  ${issue.path}: ${issue.message}\n`);
    return EXIT.error;
  }
  if (err instanceof CliError) {
    io.stderr.write(`${red('error')}: ${err.message}\n`);
    return err.exitCode;
  }
  const message = err instanceof Error ? err.message : String(err);
  io.stderr.write(`${red('error')}: ${message}\n`);
  if ((io.env['DSR_DEBUG'] ?? '') !== '' && err instanceof Error)
    io.stderr.write(`${err.stack ?? ''}\n`);
  return EXIT.error;
}

/** The shell's entry (bin/dsr.js): the process's streams and environment, its exit code. */
export async function main(): Promise<void> {
  process.exitCode = await runCli(process.argv.slice(2), {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: () => process.stdin,
    stdinIsTTY: isatty(0),
    env: process.env,
  });
}
