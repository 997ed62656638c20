/**
 * A small renderer for CNI configuration templates in the form containerd's `conf_template`
 * takes (Go text/template over { PodCIDR, PodCIDRRanges, Routes }), limited to what such
 * templates use: `{{.PodCIDR}}`, `{{range $i, $r := .PodCIDRRanges}}…{{end}}` (also
 * `{{range $r := …}}` and `{{range .Routes}}{{.}}{{end}}`), `{{if $i}}…{{else}}…{{end}}`,
 * `{{$r}}`, `{{$.Field}}`, comments and `{{-`/`-}}` trim markers. Anything else is an error
 * naming the line, never silently passed through.
 */

export interface ConfTemplateData {
  PodCIDR: string;
  PodCIDRRanges: string[];
  Routes: string[];
}

export class ConfTemplateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfTemplateError';
  }
}

/** Bounds a hostile template cannot get past: input size, nesting, output size. */
const MAX_TEMPLATE_BYTES = 64 * 1024;
const MAX_DEPTH = 8;
const MAX_OUTPUT_CHARS = 1024 * 1024;

type Value = string | string[] | number | ConfTemplateData;

/** `.`, `.Field`, `$`, `$.Field` or `$name`. */
interface Expr {
  base: 'dot' | 'root' | 'var';
  name?: string;
  field?: keyof ConfTemplateData;
  text: string;
}

type Node =
  | { kind: 'text'; text: string }
  | { kind: 'print'; expr: Expr; line: number }
  | { kind: 'range'; keyVar?: string; valueVar?: string; list: Expr; body: Node[]; orElse: Node[]; line: number }
  | { kind: 'if'; cond: Expr; body: Node[]; orElse: Node[]; line: number };

const FIELDS: ReadonlySet<string> = new Set(['PodCIDR', 'PodCIDRRanges', 'Routes']);
const VAR_RE = /^\$[A-Za-z_][A-Za-z0-9_]*$/;

/** Parses once; `render` may then be called for each new pod CIDR. */
export function parseConfTemplate(source: string, name = 'template'): (data: ConfTemplateData) => string {
  if (Buffer.byteLength(source) > MAX_TEMPLATE_BYTES) throw new ConfTemplateError(`${name}: larger than ${MAX_TEMPLATE_BYTES} bytes`);
  const nodes = new Parser(source, name).parse();
  return (data) => {
    const out: string[] = [];
    let size = 0;
    const emit = (s: string) => {
      size += s.length;
      if (size > MAX_OUTPUT_CHARS) throw new ConfTemplateError(`${name}: output larger than ${MAX_OUTPUT_CHARS} characters`);
      out.push(s);
    };
    execute(nodes, { dot: data, root: data, vars: new Map() }, emit, name);
    return out.join('');
  };
}

export function renderConfTemplate(source: string, data: ConfTemplateData, name?: string): string {
  return parseConfTemplate(source, name)(data);
}

interface Token {
  kind: 'text' | 'action';
  text: string;
  line: number;
}

class Parser {
  private readonly tokens: Token[];
  private pos = 0;
  /** Variables declared by the ranges around the current position (Go checks them at parse time). */
  private readonly declared: string[][] = [];

  constructor(
    source: string,
    private readonly name: string,
  ) {
    this.tokens = tokenize(source, name);
  }

  parse(): Node[] {
    const { nodes, end } = this.block(0);
    if (end) throw this.error(end, `unexpected {{${end.text}}}`);
    return nodes;
  }

  /** Nodes up to an `end` or `else` action (returned) or the end of input (undefined). */
  private block(depth: number): { nodes: Node[]; end?: Token } {
    if (depth > MAX_DEPTH) throw new ConfTemplateError(`${this.name}: blocks nested deeper than ${MAX_DEPTH}`);
    const nodes: Node[] = [];
    while (this.pos < this.tokens.length) {
      const tok = this.tokens[this.pos++]!;
      if (tok.kind === 'text') {
        if (tok.text) nodes.push({ kind: 'text', text: tok.text });
        continue;
      }
      const words = tok.text.split(/\s+/).filter((w) => w !== '');
      const [head] = words;
      if (head === undefined) throw this.error(tok, 'empty action');
      if (head === 'end' || head === 'else') {
        if (words.length !== 1) throw this.error(tok, `unsupported {{${tok.text}}}`);
        return { nodes, end: tok };
      }
      if (head === 'range') nodes.push(this.range(tok, words.slice(1), depth));
      else if (head === 'if') nodes.push(this.ifNode(tok, words.slice(1), depth));
      else if (words.length === 1) nodes.push({ kind: 'print', expr: this.expr(tok, head), line: tok.line });
      else throw this.error(tok, `unsupported action {{${tok.text}}}`);
    }
    return { nodes };
  }

  private range(tok: Token, words: string[], depth: number): Node {
    // range LIST | range $v := LIST | range $k, $v := LIST
    let keyVar: string | undefined;
    let valueVar: string | undefined;
    const text = words.join(' ');
    const decl = /^(\$[A-Za-z_]\w*)(?:\s*,\s*(\$[A-Za-z_]\w*))?\s*:=\s*(\S+)$/.exec(text);
    let listText: string;
    if (decl) {
      if (decl[2] !== undefined) {
        keyVar = decl[1];
        valueVar = decl[2];
      } else {
        valueVar = decl[1];
      }
      listText = decl[3]!;
    } else if (words.length === 1) {
      listText = words[0]!;
    } else {
      throw this.error(tok, `unsupported range {{${tok.text}}}`);
    }
    const list = this.expr(tok, listText);
    this.declared.push([keyVar, valueVar].filter((v): v is string => v !== undefined));
    const first = this.block(depth + 1);
    this.declared.pop();
    const { body, orElse } = this.bodies(tok, depth, first);
    return { kind: 'range', keyVar, valueVar, list, body, orElse, line: tok.line };
  }

  private ifNode(tok: Token, words: string[], depth: number): Node {
    if (words.length !== 1) throw this.error(tok, `unsupported condition {{${tok.text}}}`);
    const cond = this.expr(tok, words[0]!);
    const { body, orElse } = this.bodies(tok, depth, this.block(depth + 1));
    return { kind: 'if', cond, body, orElse, line: tok.line };
  }

  private bodies(open: Token, depth: number, first: { nodes: Node[]; end?: Token }): { body: Node[]; orElse: Node[] } {
    if (!first.end) throw this.error(open, `{{${open.text}}} has no {{end}}`);
    if (first.end.text.trim() === 'end') return { body: first.nodes, orElse: [] };
    const second = this.block(depth + 1);
    if (!second.end || second.end.text.trim() !== 'end') throw this.error(open, `{{${open.text}}} has no {{end}} after {{else}}`);
    return { body: first.nodes, orElse: second.nodes };
  }

  private expr(tok: Token, text: string): Expr {
    if (text === '.') return { base: 'dot', text };
    if (text === '$') return { base: 'root', text };
    const field = (f: string): keyof ConfTemplateData => {
      if (!FIELDS.has(f)) throw this.error(tok, `unknown field .${f} (the template has .PodCIDR, .PodCIDRRanges and .Routes)`);
      return f as keyof ConfTemplateData;
    };
    if (/^\.[A-Za-z_]\w*$/.test(text)) return { base: 'dot', field: field(text.slice(1)), text };
    if (/^\$\.[A-Za-z_]\w*$/.test(text)) return { base: 'root', field: field(text.slice(2)), text };
    if (VAR_RE.test(text)) {
      if (!this.declared.some((vars) => vars.includes(text))) throw this.error(tok, `undefined variable ${text}`);
      return { base: 'var', name: text, text };
    }
    throw this.error(tok, `unsupported expression "${text}" in {{${tok.text}}}`);
  }

  private error(tok: Token, message: string): ConfTemplateError {
    return new ConfTemplateError(`${this.name}:${tok.line}: ${message}`);
  }
}

const TRIM_SPACE = /[ \t\r\n]/;

/** Splits into text and actions, applying trim markers and dropping comments. */
function tokenize(source: string, name: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  let line = 1;
  let trimNext = false;
  const lineAt = (from: number, to: number) => {
    for (let k = from; k < to; k++) if (source.charCodeAt(k) === 10) line++;
  };
  while (i < source.length) {
    const open = source.indexOf('{{', i);
    let text = source.slice(i, open < 0 ? source.length : open);
    if (trimNext) text = text.replace(/^[ \t\r\n]+/, '');
    trimNext = false;
    if (open < 0) {
      tokens.push({ kind: 'text', text, line });
      break;
    }
    lineAt(i, open);
    const close = source.indexOf('}}', open + 2);
    if (close < 0) throw new ConfTemplateError(`${name}:${line}: unclosed action`);
    let inner = source.slice(open + 2, close);
    // Go takes "{{- " and " -}}" (with the space) as trim markers; "{{-3}}" is a number.
    if (inner.startsWith('-') && TRIM_SPACE.test(inner[1] ?? '')) {
      text = text.replace(/[ \t\r\n]+$/, '');
      inner = inner.slice(1);
    }
    if (inner.endsWith('-') && TRIM_SPACE.test(inner[inner.length - 2] ?? '')) {
      trimNext = true;
      inner = inner.slice(0, -1);
    }
    tokens.push({ kind: 'text', text, line });
    const body = inner.trim();
    if (body.startsWith('/*')) {
      if (!body.endsWith('*/')) throw new ConfTemplateError(`${name}:${line}: unclosed comment`);
    } else {
      if (body.includes('{{')) throw new ConfTemplateError(`${name}:${line}: unclosed action`);
      tokens.push({ kind: 'action', text: body, line });
    }
    lineAt(open, close + 2);
    i = close + 2;
  }
  return tokens;
}

interface Scope {
  dot: Value;
  root: ConfTemplateData;
  vars: Map<string, Value>;
}

function execute(nodes: Node[], scope: Scope, emit: (s: string) => void, name: string): void {
  for (const node of nodes) {
    switch (node.kind) {
      case 'text':
        emit(node.text);
        break;
      case 'print': {
        const v = evaluate(node.expr, scope, name, node.line);
        if (typeof v === 'string') emit(v);
        else if (typeof v === 'number') emit(String(v));
        else throw new ConfTemplateError(`${name}:${node.line}: {{${node.expr.text}}} is a list; use it in a range`);
        break;
      }
      case 'range': {
        const list = evaluate(node.list, scope, name, node.line);
        if (!Array.isArray(list)) throw new ConfTemplateError(`${name}:${node.line}: range over ${node.list.text}, which is not a list`);
        if (list.length === 0) {
          execute(node.orElse, scope, emit, name);
          break;
        }
        list.forEach((item, index) => {
          const vars = new Map(scope.vars);
          if (node.keyVar) vars.set(node.keyVar, index);
          if (node.valueVar) vars.set(node.valueVar, item);
          execute(node.body, { dot: item, root: scope.root, vars }, emit, name);
        });
        break;
      }
      case 'if': {
        const v = evaluate(node.cond, scope, name, node.line);
        const truthy = typeof v === 'number' ? v !== 0 : typeof v === 'string' || Array.isArray(v) ? v.length > 0 : true;
        execute(truthy ? node.body : node.orElse, scope, emit, name);
        break;
      }
    }
  }
}

function evaluate(expr: Expr, scope: Scope, name: string, line: number): Value {
  let base: Value;
  if (expr.base === 'root') base = scope.root;
  else if (expr.base === 'dot') base = scope.dot;
  else {
    const v = scope.vars.get(expr.name!);
    if (v === undefined) throw new ConfTemplateError(`${name}:${line}: undefined variable ${expr.name}`);
    base = v;
  }
  if (!expr.field) return base;
  if (typeof base !== 'object' || Array.isArray(base)) {
    throw new ConfTemplateError(`${name}:${line}: ${expr.text}: no field ${expr.field} here (inside a range, use $.${expr.field})`);
  }
  return base[expr.field];
}
