import { INFRA_DIR, loadModule, splitTemplate, type TfModule } from './support/terraform';

/** Every `${...}` expression in a parsed module, with where it is. */
function expressions(value: unknown, where = ''): { where: string; expr: string }[] {
  if (typeof value === 'string') {
    return splitTemplate(value)
      .filter((p): p is { expr: string } => typeof p !== 'string')
      .flatMap((p) => [{ where, expr: p.expr }, ...expressions(p.expr, where)]);
  }
  if (Array.isArray(value)) return value.flatMap((v) => expressions(v, where));
  if (value !== null && typeof value === 'object') {
    return Object.entries(value).flatMap(([k, v]) =>
      expressions(v, where === '' ? k : `${where}.${k}`),
    );
  }
  return [];
}

/**
 * What `terraform validate` would catch first, checked without the provider: every variable,
 * local, resource, data source and module output an expression names is declared.
 */
function unresolved(mod: TfModule, child: TfModule | undefined): string[] {
  const problems: string[] = [];
  const all = [...mod.files.values()].flatMap((json) => expressions(json));
  for (const { where, expr } of all) {
    const text = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""');
    for (const m of text.matchAll(/(?<![\w.])(var|local|module|data)\.(\w+)(?:\.(\w+))?/g)) {
      const [ref, kind, a, b] = m;
      const ok =
        (kind === 'var' && mod.variables.has(a as string)) ||
        (kind === 'local' && a !== undefined && a in mod.locals) ||
        (kind === 'data' && mod.data.get(a as string)?.has(b as string) === true) ||
        (kind === 'module' &&
          mod.modules.has(a as string) &&
          child?.outputs.has(b as string) === true);
      if (!ok) problems.push(`${where}: ${ref}`);
    }
    for (const m of text.matchAll(/(?<![\w.])(google_\w+)\.(\w+)/g)) {
      const [ref, type, name] = m;
      if (mod.resources.get(type as string)?.has(name as string) !== true)
        problems.push(`${where}: ${ref}`);
    }
  }
  return problems;
}

describe('every reference names something declared', () => {
  it('in the root module', async () => {
    const child = await loadModule(`${INFRA_DIR}/modules/http_function`);
    expect(unresolved(await loadModule(), child)).toEqual([]);
  });

  it('in modules/http_function', async () => {
    expect(unresolved(await loadModule(`${INFRA_DIR}/modules/http_function`), undefined)).toEqual(
      [],
    );
  });

  it('passes every required input of modules/http_function, and only declared ones', async () => {
    const root = await loadModule();
    const child = await loadModule(`${INFRA_DIR}/modules/http_function`);
    const required = [...child.variables.entries()]
      .filter(([, v]) => !('default' in v))
      .map(([k]) => k);
    const meta = new Set(['source', 'depends_on', 'for_each', 'count', 'providers']);
    for (const [name, call] of root.modules) {
      const inputs = Object.keys(call).filter((k) => !meta.has(k));
      expect({ name, missing: required.filter((r) => !inputs.includes(r)) }).toEqual({
        name,
        missing: [],
      });
      expect({ name, unknown: inputs.filter((i) => !child.variables.has(i)) }).toEqual({
        name,
        unknown: [],
      });
    }
  });
});
