import { parse } from '@cdktf/hcl2json';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

/** The repository's infra/ directory. */
export const INFRA_DIR = join(__dirname, '../../../infra');
export const REPO_ROOT = join(__dirname, '../../..');

export type Block = Record<string, unknown>;

/** One Terraform module (a directory), parsed with @cdktf/hcl2json and merged across files. */
export interface TfModule {
  dir: string;
  /** Path relative to the repo => parsed JSON of that file. */
  files: Map<string, Block>;
  resources: Map<string, Map<string, Block>>;
  data: Map<string, Map<string, Block>>;
  modules: Map<string, Block>;
  variables: Map<string, Block>;
  outputs: Map<string, Block>;
  locals: Record<string, unknown>;
  checks: Map<string, Block>;
}

/** Every .tf file under `dir` (recursively), for scans that must miss nothing. */
export function listTfFiles(dir = INFRA_DIR): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (name.startsWith('.')) return [];
    if (statSync(path).isDirectory()) return listTfFiles(path);
    return name.endsWith('.tf') ? [path] : [];
  });
}

export async function parseHclFile(path: string): Promise<Block> {
  return (await parse(path, readFileSync(path, 'utf8'))) as Block;
}

/** Parses the .tf files of one directory (not its subdirectories) into one module. */
export async function loadModule(dir = INFRA_DIR): Promise<TfModule> {
  const mod: TfModule = {
    dir,
    files: new Map(),
    resources: new Map(),
    data: new Map(),
    modules: new Map(),
    variables: new Map(),
    outputs: new Map(),
    locals: {},
    checks: new Map(),
  };
  const paths = readdirSync(dir)
    .filter((n) => n.endsWith('.tf'))
    .map((n) => join(dir, n));
  for (const path of paths) {
    const json = await parseHclFile(path);
    mod.files.set(relative(REPO_ROOT, path), json);
    mergeTyped(mod.resources, json['resource'], path);
    mergeTyped(mod.data, json['data'], path);
    mergeNamed(mod.modules, json['module'], path);
    mergeNamed(mod.variables, json['variable'], path);
    mergeNamed(mod.outputs, json['output'], path);
    mergeNamed(mod.checks, json['check'], path);
    for (const locals of (json['locals'] as Block[] | undefined) ?? [])
      Object.assign(mod.locals, locals);
  }
  return mod;
}

function mergeNamed(into: Map<string, Block>, section: unknown, path: string): void {
  for (const [name, bodies] of Object.entries((section ?? {}) as Record<string, Block[]>)) {
    if (into.has(name) || bodies.length !== 1)
      throw new Error(`${name} is declared twice (${path})`);
    into.set(name, bodies[0] as Block);
  }
}

function mergeTyped(into: Map<string, Map<string, Block>>, section: unknown, path: string): void {
  for (const [type, byName] of Object.entries(
    (section ?? {}) as Record<string, Record<string, Block[]>>,
  )) {
    const map = into.get(type) ?? new Map<string, Block>();
    mergeNamed(map, byName, path);
    into.set(type, map);
  }
}

/** The resources of one type, as [name, body] pairs. */
export function resourcesOf(mod: TfModule, type: string): [string, Block][] {
  return [...(mod.resources.get(type) ?? new Map<string, Block>()).entries()];
}

export function resource(mod: TfModule, type: string, name: string): Block {
  const body = mod.resources.get(type)?.get(name);
  if (body === undefined) throw new Error(`no resource ${type}.${name}`);
  return body;
}

/** A nested block (hcl2json writes each as a one-element array). */
export function block(parent: Block, name: string): Block {
  const value = parent[name];
  if (!Array.isArray(value) || value.length !== 1)
    throw new Error(`expected exactly one ${name} block`);
  return value[0] as Block;
}

export function blocks(parent: Block, name: string): Block[] {
  const value = parent[name];
  return Array.isArray(value) ? (value as Block[]) : [];
}

/** A .tfvars file, which is HCL attributes only. */
export async function loadTfvars(path: string): Promise<Record<string, unknown>> {
  return await parseHclFile(path);
}

export function listTfvars(): string[] {
  const envs = join(INFRA_DIR, 'envs');
  const files = readdirSync(envs)
    .filter((n) => n.endsWith('.tfvars'))
    .map((n) => join(envs, n));
  // Tests loop over these: none found must fail them, not let them pass vacuously.
  if (files.length === 0) throw new Error(`no .tfvars under ${envs}`);
  return files;
}

/** Calls to a child module by its source path, e.g. ./modules/http_function. */
export function moduleCalls(mod: TfModule, source: string): [string, Block][] {
  return [...mod.modules.entries()].filter(([, body]) => body['source'] === source);
}

// ---------------------------------------------------------------------------------------------
// A small evaluator: enough of Terraform's expressions to read what this configuration sets.
// ---------------------------------------------------------------------------------------------

/** A value Terraform knows only at apply time (a module output, a for expression, ...). */
export class Unknown {
  constructor(readonly expression: string) {}
  toString(): string {
    return `<${this.expression}>`;
  }
}

export interface EvalContext {
  mod: TfModule;
  /** Values from a .tfvars file; variables not in it take their default. */
  vars: Record<string, unknown>;
  /** `each` inside a resource with for_each. */
  each?: { key: string; value: unknown };
}

/** One instance of a resource: a plain one, or one per key of its for_each. */
export interface ResourceInstance {
  name: string;
  key: string | undefined;
  body: Block;
  /** The context to evaluate the body in (with `each` bound). */
  ctx: EvalContext;
}

/** The instances of a resource type, for_each expanded where it can be evaluated. */
export function instancesOf(ctx: EvalContext, type: string): ResourceInstance[] {
  return resourcesOf(ctx.mod, type).flatMap(([name, body]): ResourceInstance[] => {
    if (!('for_each' in body)) return [{ name, key: undefined, body, ctx }];
    const forEach = evaluate(body['for_each'], ctx);
    if (forEach instanceof Unknown || forEach === null || typeof forEach !== 'object') {
      throw new Error(`cannot expand for_each of ${type}.${name}: ${String(forEach)}`);
    }
    const entries: [string, unknown][] = Array.isArray(forEach)
      ? forEach.map((v) => [String(v), v])
      : Object.entries(forEach);
    return entries.map(([key, value]) => ({
      name,
      key,
      body,
      ctx: { ...ctx, each: { key, value } },
    }));
  });
}

/**
 * Resolves `${...}` interpolations in a parsed value: variables (tfvars, then defaults),
 * locals, merge(), arithmetic on numbers, and resource attributes that are written literally
 * in the configuration (a service account's email is derived from its account_id). Anything
 * else becomes an Unknown.
 */
export function evaluate(value: unknown, ctx: EvalContext): unknown {
  if (typeof value === 'string') return evaluateString(value, ctx);
  if (Array.isArray(value)) return value.map((v) => evaluate(v, ctx));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, evaluate(v, ctx)]));
  }
  return value;
}

function evaluateString(text: string, ctx: EvalContext): unknown {
  const parts = splitTemplate(text);
  const only = parts.length === 1 ? parts[0] : undefined;
  if (only !== undefined && typeof only !== 'string') return evaluateExpression(only.expr, ctx);
  let out = '';
  for (const part of parts) {
    if (typeof part === 'string') out += part;
    else {
      const v = evaluateExpression(part.expr, ctx);
      if (v instanceof Unknown) return new Unknown(text);
      out += String(v);
    }
  }
  return out;
}

/** Splits a template into literal text and `${expr}` parts; `$${` is a literal `${`. */
export function splitTemplate(text: string): (string | { expr: string })[] {
  const parts: (string | { expr: string })[] = [];
  let literal = '';
  let i = 0;
  while (i < text.length) {
    if (text.startsWith('$${', i)) {
      literal += '${';
      i += 3;
    } else if (text.startsWith('${', i)) {
      let depth = 1;
      let j = i + 2;
      let quoted = false;
      for (; j < text.length && depth > 0; j++) {
        const c = text[j];
        if (c === '"' && text[j - 1] !== '\\') quoted = !quoted;
        else if (!quoted && c === '{') depth++;
        else if (!quoted && c === '}') depth--;
      }
      if (literal !== '') parts.push(literal);
      literal = '';
      parts.push({ expr: text.slice(i + 2, j - 1).trim() });
      i = j;
    } else {
      literal += text[i];
      i++;
    }
  }
  if (literal !== '' || parts.length === 0) parts.push(literal);
  return parts;
}

function evaluateExpression(expr: string, ctx: EvalContext): unknown {
  const merge = /^merge\((.*)\)$/s.exec(expr);
  if (merge?.[1] !== undefined) {
    const out: Record<string, unknown> = {};
    for (const arg of splitArgs(merge[1])) {
      const v = evaluateExpression(arg, ctx);
      if (v !== null && typeof v === 'object' && !(v instanceof Unknown)) Object.assign(out, v);
    }
    return out;
  }
  const join = /^join\(\s*"([^"]*)"\s*,(.*)\)$/s.exec(expr);
  if (join?.[1] !== undefined && join[2] !== undefined) {
    const list = evaluateExpression(join[2].trim(), ctx);
    return Array.isArray(list) && list.every((v) => typeof v === 'string')
      ? list.join(join[1])
      : new Unknown(expr);
  }
  const concat = /^concat\((.*)\)$/s.exec(expr);
  if (concat?.[1] !== undefined) {
    const lists = splitArgs(concat[1]).map((arg) => evaluateExpression(arg, ctx));
    return lists.every(Array.isArray) ? lists.flat() : new Unknown(expr);
  }
  const jsonencode = /^jsonencode\((.*)\)$/s.exec(expr);
  if (jsonencode?.[1] !== undefined) {
    const v = evaluateExpression(jsonencode[1].trim(), ctx);
    return v instanceof Unknown ? new Unknown(expr) : JSON.stringify(v);
  }
  const list = /^\[(.*)\]$/s.exec(expr);
  if (list?.[1] !== undefined) {
    return splitArgs(list[1]).map((item) => evaluateExpression(item, ctx));
  }
  const toset = /^toset\((.*)\)$/s.exec(expr);
  if (toset?.[1] !== undefined) return evaluateExpression(toset[1], ctx);
  const each = /^each\.(key|value)((?:\.\w+)*)$/.exec(expr);
  if (each?.[1] !== undefined) {
    if (ctx.each === undefined) return new Unknown(expr);
    if (each[1] === 'key') return ctx.each.key;
    let value: unknown = ctx.each.value;
    for (const attr of (each[2] ?? '').split('.').filter(Boolean)) {
      value =
        value !== null && typeof value === 'object'
          ? (value as Record<string, unknown>)[attr]
          : undefined;
    }
    return value;
  }
  if (/^-?\d+(\.\d+)?$/.test(expr)) return Number(expr);
  if (/^"[^"]*"$/.test(expr)) return expr.slice(1, -1);
  if (/[*+/-]/.test(expr) && /^[\w.\s*+/()-]+$/.test(expr)) return arithmetic(expr, ctx);
  const ref = /^(var|local)\.(\w+)$/.exec(expr);
  if (ref?.[1] === 'var' && ref[2] !== undefined) return variableValue(ref[2], ctx);
  if (ref?.[1] === 'local' && ref[2] !== undefined) {
    if (!(ref[2] in ctx.mod.locals)) throw new Error(`no local ${ref[2]}`);
    return evaluate(ctx.mod.locals[ref[2]], ctx);
  }
  const attr = /^(data\.)?(google_\w+)\.(\w+)\.(\w+)$/.exec(expr);
  if (attr?.[2] !== undefined && attr[3] !== undefined && attr[4] !== undefined) {
    return resourceAttribute(attr[1] !== undefined, attr[2], attr[3], attr[4], ctx);
  }
  return new Unknown(expr);
}

export function variableValue(name: string, ctx: EvalContext): unknown {
  if (name in ctx.vars) return ctx.vars[name];
  const declared = ctx.mod.variables.get(name);
  if (declared === undefined) throw new Error(`no variable ${name}`);
  if (!('default' in declared)) return new Unknown(`var.${name}`);
  return declared['default'];
}

function resourceAttribute(
  isData: boolean,
  type: string,
  name: string,
  attr: string,
  ctx: EvalContext,
): unknown {
  const body = (isData ? ctx.mod.data : ctx.mod.resources).get(type)?.get(name);
  if (body === undefined)
    throw new Error(`no ${isData ? 'data source' : 'resource'} ${type}.${name}`);
  if (attr in body) return evaluate(body[attr], ctx);
  if (type === 'google_service_account' && attr === 'email') {
    const project = variableValue('project_id', ctx);
    return `${String(evaluate(body['account_id'], ctx))}@${String(project)}.iam.gserviceaccount.com`;
  }
  return new Unknown(`${type}.${name}.${attr}`);
}

function splitArgs(text: string): string[] {
  const args: string[] = [];
  let depth = 0;
  let current = '';
  for (const c of text) {
    if (c === '(' || c === '{' || c === '[') depth++;
    if (c === ')' || c === '}' || c === ']') depth--;
    if (c === ',' && depth === 0) {
      args.push(current.trim());
      current = '';
    } else current += c;
  }
  if (current.trim() !== '') args.push(current.trim());
  return args;
}

/** + - * / over numbers and var./local. references, left to right with * and / first. */
function arithmetic(expr: string, ctx: EvalContext): unknown {
  const tokens = expr.match(/[\w.]+|[*+/-]/g) ?? [];
  const values: (number | string)[] = [];
  for (const t of tokens) {
    if (/^[*+/-]$/.test(t)) values.push(t);
    else {
      const v = evaluateExpression(t, ctx);
      if (typeof v !== 'number') return new Unknown(expr);
      values.push(v);
    }
  }
  const products: (number | string)[] = [];
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if ((v === '*' || v === '/') && typeof products[products.length - 1] === 'number') {
      const left = products.pop() as number;
      const right = values[++i] as number;
      products.push(v === '*' ? left * right : left / right);
    } else if (v !== undefined) products.push(v);
  }
  let total = products[0] as number;
  for (let i = 1; i < products.length; i += 2) {
    const right = products[i + 1] as number;
    total = products[i] === '+' ? total + right : total - right;
  }
  return total;
}
