import { INSTANCE_STATES } from '../domain/model';
import { cellText } from './output';

/** What `watch` draws from: the request view's status, instances and cost. */
export interface WatchedRequest {
  id: string;
  status: string;
  cost?: { bytesBilled?: number; usd?: number };
  instances?: { taskId: string; state: string }[];
  counts?: Record<string, number>;
}

type Paint = (code: 'red' | 'green' | 'yellow' | 'dim' | 'bold', text: string) => string;

/** The order states are drawn in: the model's order, open ones first, the way work moves. */
const STATE_ORDER: readonly string[] = INSTANCE_STATES;

const COLOUR = new Map<string, 'green' | 'red' | 'yellow' | 'dim'>([
  ['succeeded', 'green'],
  ['failed', 'red'],
  ['cancelled', 'dim'],
  ['skipped', 'dim'],
  ['pending_approval', 'yellow'],
  ['pending_verification', 'yellow'],
  ['retry_scheduled', 'yellow'],
  ['paused', 'yellow'],
]);

/** Instances per state, from the instances when the view has them, else from `counts`. */
export function stateCounts(request: WatchedRequest): [string, number][] {
  const counts = new Map<string, number>();
  if (request.instances !== undefined) {
    for (const { state } of request.instances) counts.set(state, (counts.get(state) ?? 0) + 1);
  } else {
    for (const [state, n] of Object.entries(request.counts ?? {})) if (n > 0) counts.set(state, n);
  }
  const rank = (s: string) => (STATE_ORDER.includes(s) ? STATE_ORDER.indexOf(s) : 99);
  return [...counts.entries()].sort((a, b) => rank(a[0]) - rank(b[0]) || a[0].localeCompare(b[0]));
}

/** `200.0 MiB billed, $0.001192091`. */
export function costLine(cost: WatchedRequest['cost']): string {
  const bytes = cost?.bytesBilled ?? 0;
  const usd = cost?.usd ?? 0;
  return `${formatBytes(bytes)} billed, $${usd.toFixed(9).replace(/0+$/, '').replace(/\.$/, '.0')}`;
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/**
 * The progress block `watch` draws on a terminal: the status, a bar per instance state (its
 * share of the instances) and the running cost. Plain text when `paint` adds no colour.
 */
export function renderProgress(request: WatchedRequest, paint: Paint, width = 30): string[] {
  const counts = stateCounts(request);
  const total = counts.reduce((sum, [, n]) => sum + n, 0);
  const labelWidth = Math.max(5, ...counts.map(([s]) => s.length));
  const lines = [`${paint('bold', request.id)}  ${cellText(request.status)}`];
  for (const [state, n] of counts) {
    const filled = total === 0 ? 0 : Math.round((n / total) * width);
    const bar = '█'.repeat(filled) + '░'.repeat(width - filled);
    const colour = COLOUR.get(state);
    lines.push(
      `  ${state.padEnd(labelWidth)} ${colour === undefined ? bar : paint(colour, bar)} ${n}/${total}`,
    );
  }
  lines.push(`  cost  ${costLine(request.cost)}`);
  return lines;
}
