import type { Regulation } from './model';

/** Statutory response periods in days: GDPR Art. 12(3) one month (30 days), CCPA 45 days. */
export const RESPONSE_DAYS: Readonly<Record<Regulation, number>> = {
  gdpr: 30,
  uk_gdpr: 30,
  ccpa: 45,
  lgpd: 15,
  other: 30,
};

const DAY_MS = 24 * 60 * 60 * 1000;

/** `dueAt` is the explicit value when given, else `receivedAt` plus the regulation's period. */
export function computeDueAt(regulation: Regulation, receivedAt: Date, dueAt?: Date): Date {
  if (dueAt !== undefined) return dueAt;
  return new Date(receivedAt.getTime() + RESPONSE_DAYS[regulation] * DAY_MS);
}

export type DeadlineRisk = 'ok' | 'at_risk' | 'overdue';

/** `at_risk` within `warningHours` of `dueAt`; `overdue` once past it. */
export function deadlineRisk(dueAt: Date, now: Date, warningHours: number): DeadlineRisk {
  const left = dueAt.getTime() - now.getTime();
  if (left < 0) return 'overdue';
  if (left <= warningHours * 60 * 60 * 1000) return 'at_risk';
  return 'ok';
}
