/** Whether a path is the web console's: the api loads the console's modules only for these. */
export function isConsolePath(path: string): boolean {
  return path === '/console' || path.startsWith('/console/');
}
