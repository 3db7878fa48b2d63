/**
 * The largest body any function accepts (functions/framework-guards.ts caps the parsers). A
 * module of its own so the guards, which every function installs at import, need nothing else.
 */
export const MAX_BODY_BYTES = 64 * 1024;
