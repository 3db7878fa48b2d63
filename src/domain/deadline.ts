import type { Regulation, Request } from './model';

/**
 * The deadline engine: each regulation's response period, extension and acknowledgement, counted
 * as its law counts them (docs/compliance.md#deadlines). Pure: every instant comes in as an
 * argument, and days are the calendar days of the configured business time zone.
 *
 * A period ends at the last millisecond of its last day (23:59:59.999 local time). Where the law
 * leaves room (a day that may or may not count, a weekend roll), the engine takes the reading that
 * gives the EARLIER deadline, so a deadline it shows is never later than the legal one.
 */

/** What the engine reads from the configuration (a slice of AppSettings). */
export interface DeadlineSettings {
  /** IANA zone in which a receipt is dated and a day ends (BUSINESS_TIME_ZONE, default UTC). */
  businessTimeZone: string;
  /** The response period of `other`, in calendar days (OTHER_RESPONSE_DAYS, default 30). */
  otherResponseDays: number;
  /** The one extension `other` allows, in calendar days; 0: none (OTHER_EXTENSION_DAYS). */
  otherExtensionDays?: number;
  /** Per-regulation override of CLOCK_RUNS_WHILE_VERIFYING (VERIFICATION_CLOCK_RUNS). */
  clockRunsWhileVerifying?: Partial<Record<Regulation, boolean>>;
}

export type DeadlineRisk = 'ok' | 'at_risk' | 'overdue';

/** Under this share of the period in force left, a request is `at_risk`. */
export const AT_RISK_SHARE = 0.25;

type Period =
  | { unit: 'months'; count: number }
  /**
   * `firstDayCounts`: the day of receipt is day 1 (CCPA: "the 45-day period will begin on the
   * day that the business receives the request"); otherwise counting starts the day after.
   */
  | { unit: 'days'; count: number; firstDayCounts: boolean };

interface RegulationRule {
  period: (s: DeadlineSettings) => Period;
  /** Added to the deadline in force by the one extension the law allows; null: none. */
  extension: (s: DeadlineSettings) => Period | null;
  /** Business days (Mon-Fri, the day of receipt counted when it is one) to acknowledge in. */
  acknowledgeBusinessDays?: number;
}

/**
 * The rules. Sources (docs/compliance.md#deadlines): GDPR Art. 12(3) and Reg. 1182/71 Art. 3;
 * UK GDPR Art. 12(3) (ICO guidance); CCPA Civ. Code §1798.130(a)(2) and 11 CCR §7021; LGPD
 * Art. 19 II and Código Civil Art. 132.
 */
export const REGULATION_RULES: Readonly<Record<Regulation, RegulationRule>> = {
  gdpr: {
    period: () => ({ unit: 'months', count: 1 }),
    extension: () => ({ unit: 'months', count: 2 }),
  },
  uk_gdpr: {
    period: () => ({ unit: 'months', count: 1 }),
    extension: () => ({ unit: 'months', count: 2 }),
  },
  ccpa: {
    period: () => ({ unit: 'days', count: 45, firstDayCounts: true }),
    extension: () => ({ unit: 'days', count: 45, firstDayCounts: false }),
    acknowledgeBusinessDays: 10,
  },
  lgpd: {
    period: () => ({ unit: 'days', count: 15, firstDayCounts: false }),
    extension: () => null,
  },
  other: {
    period: (s) => ({ unit: 'days', count: s.otherResponseDays, firstDayCounts: false }),
    extension: (s) =>
      (s.otherExtensionDays ?? 0) > 0
        ? { unit: 'days', count: s.otherExtensionDays ?? 0, firstDayCounts: false }
        : null,
  },
};

/**
 * Whether the law's clock runs while the person's identity is still to be verified (a request
 * filed `verification: "pending"`). `false`: the period is counted from the verification instead,
 * as if the request had been received then. Defaults and their sources:
 * - gdpr: false. EDPB Guidelines 01/2022 on the right of access (§5.3, timing): where the
 *   controller must ask for information to confirm the identity, the time limit may be suspended
 *   until it has it, provided it asked without undue delay.
 * - uk_gdpr: false. ICO, right of access guidance: the month runs from receipt of the request or
 *   of the requested proof of identity, whichever is later (DPA 2018 s.54(3) in the same terms).
 * - ccpa: true. 11 CCR §7021(b): the 45-day period begins on the day the request is received,
 *   regardless of the time required to verify it.
 * - lgpd: true. Art. 19 II counts "da data do requerimento do titular" and provides no pause.
 * - other: true: the conservative reading where nothing says otherwise.
 */
export const CLOCK_RUNS_WHILE_VERIFYING: Readonly<Record<Regulation, boolean>> = {
  gdpr: false,
  uk_gdpr: false,
  ccpa: true,
  lgpd: true,
  other: true,
};

export function clockRunsWhileVerifying(
  regulation: Regulation,
  settings: Pick<DeadlineSettings, 'clockRunsWhileVerifying'>,
): boolean {
  return settings.clockRunsWhileVerifying?.[regulation] ?? CLOCK_RUNS_WHILE_VERIFYING[regulation];
}

export interface Deadlines {
  dueAt: Date;
  /** Only where the law asks for an acknowledgement (CCPA). */
  acknowledgeBy?: Date;
}

/** The deadlines of a request received at `receivedAt`. */
export function computeDeadlines(
  regulation: Regulation,
  receivedAt: Date,
  settings: DeadlineSettings,
): Deadlines {
  const zone = settings.businessTimeZone;
  const rule = REGULATION_RULES[regulation];
  const received = localDate(receivedAt, zone);
  const dueAt = endOfLocalDay(addPeriod(received, rule.period(settings)), zone);
  if (rule.acknowledgeBusinessDays === undefined) return { dueAt };
  const ackDay = addBusinessDays(received, rule.acknowledgeBusinessDays);
  return { dueAt, acknowledgeBy: endOfLocalDay(ackDay, zone) };
}

/** `dueAt` is the explicit value when given, else the regulation's deadline from `receivedAt`. */
export function computeDueAt(
  regulation: Regulation,
  receivedAt: Date,
  settings: DeadlineSettings,
  dueAt?: Date,
): Date {
  return dueAt ?? computeDeadlines(regulation, receivedAt, settings).dueAt;
}

/**
 * The deadline once verification completes at `verifiedAt`: null when the regulation's clock
 * ran while verification was pending (nothing moves), else the period counted afresh from the
 * verification day, as the law counts it from receipt, plus the extension if one was granted.
 * Never earlier than the deadline in force (an explicit `dueAt` given at filing is kept when
 * later). Null too when the request was not pending verification.
 */
export function deadlineAfterVerification(
  request: Pick<Request, 'regulation' | 'dueAt' | 'originalDueAt' | 'verification'> &
    Partial<Pick<Request, 'extension'>>,
  verifiedAt: Date,
  settings: DeadlineSettings,
): { dueAt: string } | null {
  if (request.verification?.state !== 'pending') return null;
  if (clockRunsWhileVerifying(request.regulation, settings)) return null;
  let moved: Date | null = computeDeadlines(request.regulation, verifiedAt, settings).dueAt;
  if (request.extension !== undefined) moved = extendedDueAt(request.regulation, moved, settings);
  if (moved === null || moved.getTime() <= Date.parse(request.dueAt)) return null;
  return { dueAt: moved.toISOString() };
}

/** The extension a regulation allows, as a period; null when it allows none. */
export function extensionRule(regulation: Regulation, settings: DeadlineSettings): Period | null {
  return REGULATION_RULES[regulation].extension(settings);
}

/**
 * The deadline after the one extension, counted from the deadline in force: its local date plus
 * the extension (GDPR: two months, the end of the same date or of the month's last day; CCPA:
 * 45 more days, 90 in all). Null where the regulation allows no extension.
 */
export function extendedDueAt(
  regulation: Regulation,
  dueAt: Date,
  settings: DeadlineSettings,
): Date | null {
  const rule = extensionRule(regulation, settings);
  if (rule === null) return null;
  const zone = settings.businessTimeZone;
  return endOfLocalDay(addPeriod(localDate(dueAt, zone), rule), zone);
}

export interface DeadlineStatus {
  /** Calendar days in the business time zone from today to the due date: 0 due today, < 0 late. */
  daysLeft: number;
  deadlineRisk: DeadlineRisk;
}

/**
 * Where a request stands against its deadline at `now`. The period in force runs from the start
 * of its clock (receipt, or the verification where the clock waited for it) to `dueAt`, an
 * extension included: under 25 % of it left is `at_risk`, past `dueAt` is `overdue`.
 */
export function deadlineStatus(
  request: Pick<Request, 'regulation' | 'receivedAt' | 'dueAt' | 'verification'>,
  now: Date,
  settings: DeadlineSettings,
): DeadlineStatus {
  const dueAt = new Date(request.dueAt);
  const zone = settings.businessTimeZone;
  return {
    daysLeft: daysBetween(localDate(now, zone), localDate(dueAt, zone)),
    deadlineRisk: deadlineRisk(clockStart(request, settings), dueAt, now),
  };
}

/** When the request's clock started: its receipt, or its verification where the clock waited. */
export function clockStart(
  request: Pick<Request, 'regulation' | 'receivedAt' | 'verification'>,
  settings: Pick<DeadlineSettings, 'clockRunsWhileVerifying'>,
): Date {
  const verifiedAt = request.verification?.at;
  if (verifiedAt !== undefined && !clockRunsWhileVerifying(request.regulation, settings)) {
    return new Date(Math.max(Date.parse(request.receivedAt), Date.parse(verifiedAt)));
  }
  return new Date(request.receivedAt);
}

/** `overdue` past `dueAt`; `at_risk` with under 25 % of `start`..`dueAt` left; else `ok`. */
export function deadlineRisk(start: Date, dueAt: Date, now: Date): DeadlineRisk {
  const left = dueAt.getTime() - now.getTime();
  if (left < 0) return 'overdue';
  const period = dueAt.getTime() - start.getTime();
  if (left < AT_RISK_SHARE * period) return 'at_risk';
  return 'ok';
}

const RISK_ORDER: Readonly<Record<DeadlineRisk, number>> = { ok: 0, at_risk: 1, overdue: 2 };

/** True when `next` is a worse risk than `previous` (absent counts as `ok`). */
export function isWorseRisk(next: DeadlineRisk, previous: DeadlineRisk | undefined): boolean {
  return RISK_ORDER[next] > RISK_ORDER[previous ?? 'ok'];
}

// ---- Calendar arithmetic on local dates (y, m 1-12, d) and IANA zones, without a library. ----

export interface LocalDate {
  y: number;
  m: number;
  d: number;
}

const DAY_MS = 86_400_000;

function fromUtcDay(ms: number): LocalDate {
  const t = new Date(ms);
  return { y: t.getUTCFullYear(), m: t.getUTCMonth() + 1, d: t.getUTCDate() };
}

function utcDay(date: LocalDate): number {
  return Date.UTC(date.y, date.m - 1, date.d);
}

function daysInMonth(y: number, m: number): number {
  return new Date(Date.UTC(y, m, 0)).getUTCDate();
}

export function addDays(date: LocalDate, days: number): LocalDate {
  return fromUtcDay(utcDay(date) + days * DAY_MS);
}

/** The same date `months` later, or that month's last day where it has no such date. */
export function addMonths(date: LocalDate, months: number): LocalDate {
  const index = date.y * 12 + (date.m - 1) + months;
  const y = Math.floor(index / 12);
  const m = (index % 12) + 1;
  return { y, m, d: Math.min(date.d, daysInMonth(y, m)) };
}

function addPeriod(date: LocalDate, period: Period): LocalDate {
  if (period.unit === 'months') return addMonths(date, period.count);
  return addDays(date, period.firstDayCounts ? period.count - 1 : period.count);
}

/** The `n`th business day (Mon-Fri) counting `date` itself as the first when it is one. */
export function addBusinessDays(date: LocalDate, n: number): LocalDate {
  let day = date;
  let counted = 0;
  for (;;) {
    const weekday = new Date(utcDay(day)).getUTCDay();
    if (weekday !== 0 && weekday !== 6) counted += 1;
    if (counted === n) return day;
    day = addDays(day, 1);
  }
}

function daysBetween(from: LocalDate, to: LocalDate): number {
  return Math.round((utcDay(to) - utcDay(from)) / DAY_MS);
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (f === undefined) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(zone, f);
  }
  return f;
}

function wallClock(instant: Date, zone: string): Record<string, number> {
  const parts: Record<string, number> = {};
  for (const p of formatter(zone).formatToParts(instant)) {
    if (p.type !== 'literal') parts[p.type] = Number(p.value);
  }
  return parts;
}

/** The calendar date of `instant` in `zone`. */
export function localDate(instant: Date, zone: string): LocalDate {
  const p = wallClock(instant, zone);
  return { y: p.year ?? 0, m: p.month ?? 0, d: p.day ?? 0 };
}

/** Milliseconds the zone's wall clock is ahead of UTC at `instant`. */
function offsetMs(instant: number, zone: string): number {
  const p = wallClock(new Date(instant), zone);
  const wall = Date.UTC(p.year ?? 0, (p.month ?? 1) - 1, p.day ?? 1, p.hour, p.minute, p.second);
  return wall - Math.floor(instant / 1000) * 1000;
}

/** The first instant of `date` in `zone` (00:00, or the first instant after a gap at midnight). */
export function startOfLocalDay(date: LocalDate, zone: string): Date {
  const wall = utcDay(date);
  let guess = wall - offsetMs(wall, zone);
  guess = wall - offsetMs(guess, zone);
  // A zone whose midnight falls in a DST gap: the day starts at the end of the gap.
  const seen = localDate(new Date(guess), zone);
  if (utcDay(seen) < wall) {
    while (utcDay(localDate(new Date(guess), zone)) < wall) guess += 15 * 60_000;
  }
  return new Date(guess);
}

/** The last millisecond of `date` in `zone`. */
export function endOfLocalDay(date: LocalDate, zone: string): Date {
  return new Date(startOfLocalDay(addDays(date, 1), zone).getTime() - 1);
}
