/** Who is calling a use case: the verified identity (an email), never a client-sent claim. */
export interface Actor {
  identity: string;
}
