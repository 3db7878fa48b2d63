/** One Cloud Task to create: an HTTP POST of `body` to the run-task target. */
export interface EnqueueInput {
  /** Deterministic per (instance, series, attempt); a repeat is answered `exists`. */
  taskName: string;
  scheduleTime?: Date;
  dispatchDeadlineSeconds: number;
  body: unknown;
}

export type EnqueueResult = 'created' | 'exists';

/** The queue that delivers instance attempts to run-task. */
export interface TaskQueue {
  /** Throws RetryableError when the queue cannot be reached. */
  enqueue(input: EnqueueInput): Promise<EnqueueResult>;
}
