import type { ExecutionWindow, Task } from './model';

interface LocalTime {
  year: number;
  month: number;
  day: number;
  minutes: number;
}

/**
 * The earliest instant at or after `at` when the window is open: `at` itself when the window is
 * open then, else the next local opening. Windows may cross midnight (22:00–04:00), and the
 * wall-clock maths follows the zone's DST rules.
 */
export function nextWindowOpening(window: ExecutionWindow | undefined, at: Date): Date {
  if (window === undefined) return at;
  const start = toMinutes(window.start);
  const end = toMinutes(window.end);
  const local = localTime(at, window.timeZone);
  if (isOpenAt(local.minutes, start, end)) return at;
  // Closed: the next opening is today's start if it is still ahead, else tomorrow's.
  const dayOffset = local.minutes < start ? 0 : 1;
  const day = new Date(Date.UTC(local.year, local.month - 1, local.day + dayOffset));
  return zonedToUtc(
    day.getUTCFullYear(),
    day.getUTCMonth() + 1,
    day.getUTCDate(),
    start,
    window.timeZone,
  );
}

/**
 * The earliest instant at or after `at` when an attempt of `task` may start: not before the
 * task's `notBefore`, then at the next opening of its window. Every schedule (first attempt,
 * retry, re-arm) goes through this one function.
 */
export function nextTaskOpening(task: Pick<Task, 'executionWindow' | 'notBefore'>, at: Date): Date {
  const floor =
    task.notBefore === undefined
      ? at
      : new Date(Math.max(at.getTime(), Date.parse(task.notBefore)));
  return nextWindowOpening(task.executionWindow, floor);
}

export function isWindowOpen(window: ExecutionWindow | undefined, at: Date): boolean {
  if (window === undefined) return true;
  return isOpenAt(
    localTime(at, window.timeZone).minutes,
    toMinutes(window.start),
    toMinutes(window.end),
  );
}

function isOpenAt(minutes: number, start: number, end: number): boolean {
  return start < end ? minutes >= start && minutes < end : minutes >= start || minutes < end;
}

function toMinutes(hhmm: string): number {
  const [h, m] = hhmm.split(':').map(Number);
  return (h ?? 0) * 60 + (m ?? 0);
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function localTime(at: Date, timeZone: string): LocalTime {
  let f = formatters.get(timeZone);
  if (f === undefined) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
    });
    formatters.set(timeZone, f);
  }
  const parts = Object.fromEntries(f.formatToParts(at).map((p) => [p.type, p.value]));
  return {
    year: Number(parts['year']),
    month: Number(parts['month']),
    day: Number(parts['day']),
    minutes: Number(parts['hour']) * 60 + Number(parts['minute']),
  };
}

/** The UTC instant of a wall-clock time in a zone (two passes settle DST edges). */
function zonedToUtc(
  year: number,
  month: number,
  day: number,
  minutes: number,
  timeZone: string,
): Date {
  const wall = Date.UTC(year, month - 1, day, 0, minutes);
  let guess = wall;
  for (let i = 0; i < 2; i++) {
    const l = localTime(new Date(guess), timeZone);
    const seen = Date.UTC(l.year, l.month - 1, l.day, 0, l.minutes);
    guess += wall - seen;
  }
  return new Date(guess - (guess % 60_000));
}
