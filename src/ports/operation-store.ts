import type { Operation } from '../domain/bulk-operation';

/**
 * Bulk operations (`operations/{id}`): filed by the api, advanced page by page by dispatch,
 * read by `GET /operations/:id`. Ids are checked against their pattern before any path is built.
 */
export interface OperationStore {
  /** Creates the operation; an id that exists already is a ConflictError. */
  create(operation: Operation): Promise<Operation>;
  get(id: string): Promise<Operation | null>;
  /**
   * A guarded read-modify-write: `mutate` decides on the operation as stored (null writes
   * nothing, and the method returns null, as it does for a missing operation).
   */
  update(
    id: string,
    mutate: (current: Operation) => Partial<Operation> | null,
  ): Promise<Operation | null>;
  /** Operations still running, oldest first. */
  listRunning(limit: number): Promise<Operation[]>;
}
