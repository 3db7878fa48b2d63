import type { Command } from 'commander';
import { parse as parseYaml } from 'yaml';
import type { Context } from '../context';
import { CliError, UsageError } from '../exit-codes';
import { listView, renderPairs, type Column, type View } from '../output';
import { costLine } from '../progress';
import { act, collect, readInput, seg, type Cli } from './shared';

const TASK_COLUMNS: Column[] = [
  { header: 'ID', path: 'id' },
  { header: 'JOB_TYPE', path: 'jobType' },
  { header: 'EXECUTOR', path: 'executor' },
  { header: 'ACTIVE', path: 'active' },
  {
    header: 'PAUSED',
    path: 'paused',
    show: (v) => (v === undefined || v === false || v === null ? '' : 'yes'),
  },
  { header: 'VERSION', path: 'version' },
  { header: 'APPROVALS', path: 'approvalsRequired' },
  { header: 'TEAM', path: 'team' },
  { header: 'NAME', path: 'name' },
];

const taskView: View = {
  rows: (data) =>
    data !== null && typeof data === 'object' ? [data as Record<string, unknown>] : [],
  columns: TASK_COLUMNS,
  describe: (data) => {
    const task = (data ?? {}) as Record<string, unknown>;
    return renderPairs(Object.entries(task).map(([k, v]): [string, unknown] => [k, v]));
  },
};

const auditView: View = {
  rows: (data) =>
    data !== null && typeof data === 'object' ? [data as Record<string, unknown>] : [],
  describe: (data) => {
    const audit = (data ?? {}) as Record<string, unknown>;
    const estimate = audit['estimate'] as Record<string, unknown> | null | undefined;
    const pairs: [string, unknown][] = Object.entries(audit).filter(([k]) => k !== 'estimate');
    if (estimate === null) pairs.push(['estimate', 'none (this executor cannot estimate)']);
    else if (estimate !== undefined) {
      pairs.push(['wouldAffectRows', estimate['wouldAffectRows']]);
      pairs.push([
        'estimatedCost',
        costLine({
          bytesBilled: estimate['estimatedBytesBilled'] as number,
          usd: estimate['estimatedUsd'] as number,
        }),
      ]);
    }
    return renderPairs(pairs);
  },
};

/** A task definition from YAML or JSON (YAML 1.2 reads JSON as it is). */
export function parseTaskFile(text: string, name: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = parseYaml(text);
  } catch (err) {
    throw new CliError(`${name} is neither YAML nor JSON: ${(err as Error).message}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new CliError(`${name} must hold one task: an object with id, name, jobType, executor, …`);
  }
  return parsed as Record<string, unknown>;
}

/** `--subject email=a@example.com --subject userId=u-1`, or one JSON object. */
export function parseSubject(values: readonly string[]): Record<string, string> {
  const subject: Record<string, string> = {};
  for (const value of values) {
    if (value.trim().startsWith('{')) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(value);
      } catch {
        throw new UsageError(`--subject: not valid JSON: ${value}`);
      }
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
        throw new UsageError('--subject JSON must be an object of identifiers');
      }
      Object.assign(subject, parsed);
      continue;
    }
    const at = value.indexOf('=');
    if (at <= 0)
      throw new UsageError(`--subject takes NAME=VALUE (email=jane@example.com); got ${value}`);
    subject[value.slice(0, at)] = value.slice(at + 1);
  }
  return subject;
}

async function pauseOrResume(ctx: Context, id: string, verb: 'pause' | 'resume', reason: string) {
  if (verb === 'pause') {
    await ctx.confirm(`Pause task ${id}? Its instances wait until it is resumed.`);
  }
  const { body } = await ctx.client.json('POST', `/tasks/${seg(id)}/${verb}`, { body: { reason } });
  ctx.emit(body, taskView);
}

export function registerTaskCommands(program: Command, cli: Cli): void {
  const tasks = program.command('tasks').description('the task registry');
  tasks
    .command('list')
    .description('every registered task')
    .action(
      act(cli, async (ctx) => {
        const { body } = await ctx.client.json<{ tasks: unknown[] }>('GET', '/tasks');
        ctx.emit(body.tasks, listView(TASK_COLUMNS));
      }),
    );
  tasks
    .command('show')
    .description('a task (header values hidden)')
    .argument('<id>', 'the task id')
    .action(
      act(cli, async (ctx, [id = '']) => {
        const { body } = await ctx.client.json('GET', `/tasks/${seg(id)}`);
        ctx.emit(body, taskView);
      }),
    );
  tasks
    .command('versions')
    .description('every version of a task, oldest first')
    .argument('<id>', 'the task id')
    .action(
      act(cli, async (ctx, [id = '']) => {
        const { body } = await ctx.client.json<{ versions: unknown[] }>(
          'GET',
          `/tasks/${seg(id)}/versions`,
        );
        ctx.emit(
          body.versions,
          listView([
            { header: 'VERSION', path: 'version' },
            { header: 'KIND', path: 'kind' },
            { header: 'ACTOR', path: 'actor' },
            { header: 'AT', path: 'at' },
            { header: 'FIELDS', path: 'fields' },
          ]),
        );
      }),
    );
  tasks
    .command('register')
    .description('register a task from a YAML or JSON file (- reads stdin)')
    .argument('<file>', 'the task definition')
    .action(
      act(cli, async (ctx, [file = '-']) => {
        const task = parseTaskFile(await readInput(ctx, file), file);
        const { body } = await ctx.client.json('POST', '/tasks', { body: task });
        ctx.emit(body, taskView);
      }),
    );
  tasks
    .command('update')
    .description('change a task from a YAML or JSON file of the fields to change (a new version)')
    .argument('<id>', 'the task id')
    .argument('<file>', 'the fields to change (an `id` in it must match)')
    .action(
      act(cli, async (ctx, [id = '', file = '-']) => {
        const { id: named, ...fields } = parseTaskFile(await readInput(ctx, file), file);
        if (named !== undefined && named !== id) {
          throw new UsageError(`${file} names task ${JSON.stringify(named)}, not ${id}`);
        }
        const { body } = await ctx.client.json('PATCH', `/tasks/${seg(id)}`, { body: fields });
        ctx.emit(body, taskView);
      }),
    );
  tasks
    .command('audit')
    .description('what the task would do for a subject, changing nothing (rows, estimated cost)')
    .argument('<id>', 'the task id')
    .requiredOption(
      '--subject <name=value>',
      'an identifier (repeatable), or a JSON object',
      collect,
    )
    .action(
      act(cli, async (ctx, [id = ''], o) => {
        const subject = parseSubject(o['subject'] as string[]);
        const { body } = await ctx.client.json('POST', `/tasks/${seg(id)}/audit`, {
          body: { subject },
        });
        ctx.emit(body, auditView);
      }),
    );
  for (const verb of ['pause', 'resume'] as const) {
    tasks
      .command(verb)
      .description(
        verb === 'pause'
          ? "stop starting the task's instances (they wait; deadlines keep counting)"
          : 'let the paused instances run again',
      )
      .argument('<id>', 'the task id')
      .requiredOption('--reason <text>', 'why, for the record')
      .action(act(cli, (ctx, [id = ''], o) => pauseOrResume(ctx, id, verb, o['reason'] as string)));
  }
}
