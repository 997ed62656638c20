import { readFileSync } from 'node:fs';

/**
 * The shape of every CRI message as the wire checker needs it: for each field number, its scalar
 * kind or the message/enum it refers to. Read once from proto/ at start-up, because the generated
 * decoders (src/gen) skip fields with the wrong wire type and accept bytes that are not UTF-8.
 */
export type ScalarKind = 'string' | 'bytes' | 'bool' | 'int32' | 'uint32' | 'int64' | 'uint64' | 'sint32' | 'sint64'
  | 'fixed32' | 'sfixed32' | 'fixed64' | 'sfixed64' | 'float' | 'double';

export type FieldType =
  | { kind: 'scalar'; scalar: ScalarKind }
  | { kind: 'enum'; values: ReadonlySet<number>; name: string }
  | { kind: 'message'; message: MessageSchema }
  | { kind: 'map'; key: ScalarKind; value: FieldType };

export interface FieldSchema {
  name: string;
  number: number;
  repeated: boolean;
  type: FieldType;
}

export interface MessageSchema {
  name: string;
  fields: Map<number, FieldSchema>;
}

export interface ProtoSchema {
  messages: Map<string, MessageSchema>;
  enums: Map<string, ReadonlySet<number>>;
  /** Fully qualified service name → method name → request message schema. */
  services: Map<string, Map<string, MessageSchema>>;
}

const SCALARS = new Set<string>([
  'string', 'bytes', 'bool', 'int32', 'uint32', 'int64', 'uint64', 'sint32', 'sint64',
  'fixed32', 'sfixed32', 'fixed64', 'sfixed64', 'float', 'double',
]);

interface RawField {
  name: string;
  number: number;
  repeated: boolean;
  typeName: string;
  mapKey?: string;
  scope: string;
}

function tokenize(source: string): string[] {
  const withoutComments = source.replace(/\/\*[\s\S]*?\*\//g, ' ').replace(/\/\/[^\n]*/g, ' ');
  return withoutComments.match(/"(?:[^"\\]|\\.)*"|[A-Za-z_][\w.]*|-?\d+|[{}()<>=;,[\]]/g) ?? [];
}

/** Parses the subset of proto3 that proto/ uses: packages, messages, enums, maps, oneofs, services. */
export function parseProto(source: string): ProtoSchema {
  const tokens = tokenize(source);
  let pos = 0;
  let pkg = '';
  const rawMessages = new Map<string, RawField[]>();
  const enums = new Map<string, Set<number>>();
  const rawServices = new Map<string, Map<string, { request: string; scope: string }>>();
  const peek = () => tokens[pos] ?? '';
  const next = () => {
    if (pos >= tokens.length) throw new Error('proto: unexpected end of file');
    return tokens[pos++]!;
  };
  const expect = (t: string) => {
    const got = next();
    if (got !== t) throw new Error(`proto: expected "${t}", got "${got}" at token ${pos}`);
  };
  const skipStatement = () => {
    let depth = 0;
    for (;;) {
      const t = next();
      if (t === '{') depth++;
      else if (t === '}') {
        depth--;
        if (depth === 0) return;
      } else if (t === ';' && depth === 0) return;
    }
  };
  const skipOptions = () => {
    if (peek() !== '[') return;
    while (next() !== ']');
  };
  const parseEnum = (scope: string) => {
    const name = `${scope}.${next()}`;
    const values = new Set<number>();
    expect('{');
    while (peek() !== '}') {
      const t = next();
      if (t === 'option' || t === 'reserved') {
        skipStatement();
        continue;
      }
      expect('=');
      values.add(Number(next()));
      skipOptions();
      expect(';');
    }
    expect('}');
    enums.set(name, values);
  };
  const parseField = (first: string, scope: string, fields: RawField[]) => {
    let repeated = false;
    let typeName = first;
    let mapKey: string | undefined;
    if (typeName === 'repeated' || typeName === 'optional') {
      repeated = typeName === 'repeated';
      typeName = next();
    }
    if (typeName === 'map') {
      expect('<');
      mapKey = next();
      expect(',');
      typeName = next();
      expect('>');
    }
    const name = next();
    expect('=');
    const number = Number(next());
    skipOptions();
    expect(';');
    fields.push({ name, number, repeated: repeated || mapKey !== undefined, typeName, mapKey, scope });
  };
  const parseMessage = (scope: string) => {
    const name = `${scope}.${next()}`;
    const fields: RawField[] = [];
    rawMessages.set(name, fields);
    expect('{');
    while (peek() !== '}') {
      const t = next();
      if (t === 'message') parseMessage(name);
      else if (t === 'enum') parseEnum(name);
      else if (t === 'option' || t === 'reserved' || t === 'extensions') skipStatement();
      else if (t === ';') continue;
      else if (t === 'oneof') {
        next();
        expect('{');
        while (peek() !== '}') {
          const f = next();
          if (f === 'option') skipStatement();
          else parseField(f, name, fields);
        }
        expect('}');
      } else parseField(t, name, fields);
    }
    expect('}');
  };
  const parseService = (scope: string) => {
    const name = `${scope}.${next()}`;
    const methods = new Map<string, { request: string; scope: string }>();
    rawServices.set(name, methods);
    expect('{');
    while (peek() !== '}') {
      const t = next();
      if (t !== 'rpc') {
        skipStatement();
        continue;
      }
      const method = next();
      expect('(');
      let request = next();
      if (request === 'stream') request = next();
      expect(')');
      while (peek() !== '{' && peek() !== ';') next();
      skipStatement();
      methods.set(method, { request, scope });
    }
    expect('}');
  };
  while (pos < tokens.length) {
    const t = next();
    if (t === 'package') {
      pkg = next();
      expect(';');
    } else if (t === 'message') parseMessage(`.${pkg}`.replace(/^\.$/, ''));
    else if (t === 'enum') parseEnum(`.${pkg}`.replace(/^\.$/, ''));
    else if (t === 'service') parseService(`.${pkg}`.replace(/^\.$/, ''));
    else skipStatement();
  }

  // Names resolve from the innermost scope outwards, as protoc does.
  const resolve = (typeName: string, scope: string): string => {
    if (typeName.startsWith('.')) return typeName;
    for (let s = scope; ; s = s.slice(0, s.lastIndexOf('.'))) {
      const candidate = `${s}.${typeName}`;
      if (rawMessages.has(candidate) || enums.has(candidate)) return candidate;
      if (!s) throw new Error(`proto: unknown type ${typeName} in ${scope}`);
    }
  };
  const messages = new Map<string, MessageSchema>();
  for (const name of rawMessages.keys()) messages.set(name, { name: name.slice(1), fields: new Map() });
  const typeOf = (typeName: string, scope: string): FieldType => {
    if (SCALARS.has(typeName)) return { kind: 'scalar', scalar: typeName as ScalarKind };
    const full = resolve(typeName, scope);
    const message = messages.get(full);
    if (message) return { kind: 'message', message };
    return { kind: 'enum', values: enums.get(full)!, name: full.slice(1) };
  };
  for (const [name, fields] of rawMessages) {
    const schema = messages.get(name)!;
    for (const f of fields) {
      const valueType = typeOf(f.typeName, f.scope);
      const type: FieldType = f.mapKey ? { kind: 'map', key: f.mapKey as ScalarKind, value: valueType } : valueType;
      schema.fields.set(f.number, { name: f.name, number: f.number, repeated: f.repeated, type });
    }
  }
  const services = new Map<string, Map<string, MessageSchema>>();
  for (const [name, methods] of rawServices) {
    const out = new Map<string, MessageSchema>();
    for (const [method, { request, scope }] of methods) out.set(method, messages.get(resolve(request, scope))!);
    services.set(name.slice(1), out);
  }
  const plainMessages = new Map<string, MessageSchema>();
  for (const [name, m] of messages) plainMessages.set(name.slice(1), m);
  const plainEnums = new Map<string, ReadonlySet<number>>();
  for (const [name, v] of enums) plainEnums.set(name.slice(1), v);
  return { messages: plainMessages, enums: plainEnums, services };
}

let cri: ProtoSchema | undefined;

/** The CRI schema from proto/runtime/v1/api.proto next to this package (parsed once). */
export function criSchema(): ProtoSchema {
  cri ??= parseProto(readFileSync(new URL('../../../proto/runtime/v1/api.proto', import.meta.url), 'utf8'));
  return cri;
}
