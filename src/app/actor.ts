import type { Actor as Caller } from '../domain/access';

/**
 * What a use case needs of its caller: the verified identity (an email), never a client-sent
 * claim. The route that calls it also knew the caller's roles, and checked them.
 */
export type Actor = Pick<Caller, 'identity'>;
