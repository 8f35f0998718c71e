/**
 * A form generated from a provider's pydantic JSON schema (plain DOM, no framework).
 *
 * Field kinds: string, number, integer, boolean, enum, array of strings (one per line) and
 * anything else (objects, mixed arrays) as JSON text. `anyOf [X, null]` makes a field
 * optional. Secrets (`writeOnly` or `format: password`) are password inputs that are never
 * pre-filled: left empty they send back the mask, which tells the server to keep what it has.
 */

/** What the server sends instead of a stored secret; sending it back keeps the secret. */
export const MASK = '********';

/** The parts of JSON Schema that pydantic emits and the form reads. */
export interface IJSONSchema {
  type?: string | string[];
  title?: string;
  description?: string;
  default?: unknown;
  enum?: unknown[];
  const?: unknown;
  format?: string;
  writeOnly?: boolean;
  items?: IJSONSchema;
  anyOf?: IJSONSchema[];
  oneOf?: IJSONSchema[];
  allOf?: IJSONSchema[];
  $ref?: string;
  $defs?: Record<string, IJSONSchema>;
  properties?: Record<string, IJSONSchema>;
  additionalProperties?: boolean | IJSONSchema;
  required?: string[];
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
}

export type FieldKind =
  | 'string'
  | 'number'
  | 'integer'
  | 'boolean'
  | 'enum'
  | 'string-list'
  | 'json';

/** One form field, derived from one property of the schema. */
export interface IFieldSpec {
  name: string;
  label: string;
  kind: FieldKind;
  required: boolean;
  nullable: boolean;
  secret: boolean;
  description: string;
  default: unknown;
  hasDefault: boolean;
  options: unknown[];
}

/** A problem at a path in the provider's settings, as the server reports it. */
export interface IProblem {
  loc: (string | number)[];
  message: string;
}

const ENV_REF = /^\$\{env\.[A-Za-z_][A-Za-z0-9_]*(:=[^}]*|:\+[^}]*)?\}$/;

/** Whether a value is an `${env.NAME}` reference (kept as text whatever the field's type). */
export function isEnvRef(value: unknown): value is string {
  return typeof value === 'string' && ENV_REF.test(value.trim());
}

function resolveRef(schema: IJSONSchema, root: IJSONSchema): IJSONSchema {
  if (schema.$ref) {
    const name = schema.$ref.split('/').pop() ?? '';
    const target = root.$defs?.[name];
    return target ? { ...target, ...schema, $ref: undefined } : schema;
  }
  if (schema.allOf && schema.allOf.length === 1) {
    return { ...resolveRef(schema.allOf[0], root), ...schema, allOf: undefined };
  }
  return schema;
}

function kindOf(schema: IJSONSchema, root: IJSONSchema): FieldKind {
  const s = resolveRef(schema, root);
  if (s.enum) {
    return 'enum';
  }
  const type = Array.isArray(s.type) ? s.type.find(t => t !== 'null') : s.type;
  switch (type) {
    case 'string':
      return 'string';
    case 'number':
      return 'number';
    case 'integer':
      return 'integer';
    case 'boolean':
      return 'boolean';
    case 'array': {
      const items = s.items ? resolveRef(s.items, root) : undefined;
      return items && items.type === 'string' && !items.enum ? 'string-list' : 'json';
    }
    default:
      return 'json';
  }
}

// Field-name words shown in capitals, and unit suffixes shown as units: `timeout_s` is "Timeout (s)".
const ACRONYMS: Record<string, string> = {
  url: 'URL', id: 'ID', api: 'API', mcp: 'MCP', ssl: 'SSL', tls: 'TLS', http: 'HTTP',
  db: 'DB', uri: 'URI', gguf: 'GGUF', hf: 'HF', llm: 'LLM', bm25: 'BM25', mlflow: 'MLflow'
};
const UNITS: Record<string, string> = { s: 's', ms: 'ms', mb: 'MB', gb: 'GB', kb: 'KB' };

/** A field's label: the schema's own title when it chose one, else words from the name. */
export function labelOf(name: string, title?: string): string {
  const generated = name
    .split('_')
    .filter(Boolean)
    .map(w => w.charAt(0).toUpperCase() + w.slice(1))
    .join(' ');
  if (title && title !== generated) {
    return title; // written by the provider's author
  }
  const words = name.split('_').filter(Boolean);
  const unit = words.length > 1 ? UNITS[words[words.length - 1].toLowerCase()] : undefined;
  const shown = (unit ? words.slice(0, -1) : words).map((w, i) => {
    const upper = ACRONYMS[w.toLowerCase()];
    if (upper) {
      return upper;
    }
    return i === 0 ? w.charAt(0).toUpperCase() + w.slice(1) : w;
  });
  return unit ? `${shown.join(' ')} (${unit})` : shown.join(' ');
}

/** The fields of a provider's config schema, in the schema's order. */
export function fieldsFromSchema(schema: IJSONSchema): IFieldSpec[] {
  const required = new Set(schema.required ?? []);
  return Object.entries(schema.properties ?? {}).map(([name, raw]) => {
    const prop = resolveRef(raw, schema);
    const variants = (prop.anyOf ?? prop.oneOf ?? []).map(v => resolveRef(v, schema));
    const nonNull = variants.filter(v => v.type !== 'null');
    const nullable = variants.length > nonNull.length;
    // `X | None` is X, optional; other unions are edited as JSON text.
    const main = nonNull.length === 1 ? { ...nonNull[0], ...stripUnion(prop) } : prop;
    const kind = variants.length && nonNull.length !== 1 ? 'json' : kindOf(main, schema);
    const secret = [prop, ...variants].some(
      v => v.writeOnly === true || v.format === 'password'
    );
    return {
      name,
      label: labelOf(name, prop.title),
      kind,
      required: required.has(name),
      nullable,
      secret,
      description: prop.description ?? '',
      default: prop.default,
      hasDefault: 'default' in prop,
      options: kind === 'enum' ? (resolveRef(main, schema).enum ?? []) : []
    };
  });
}

function stripUnion(prop: IJSONSchema): IJSONSchema {
  const { anyOf, oneOf, ...rest } = prop;
  void anyOf;
  void oneOf;
  return rest;
}

interface IFieldControl {
  spec: IFieldSpec;
  input: HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement;
  error: HTMLElement;
  original: unknown;
  present: boolean;
}

/** The result of reading a form: the settings to send, or the fields that could not be read. */
export interface IPayload {
  value: Record<string, unknown>;
  errors: IProblem[];
}

let formCounter = 0;

/** A form for one provider's settings; `node` is the DOM element to show. */
export class ProviderForm {
  readonly node: HTMLElement;
  readonly fields: IFieldSpec[];
  private readonly controls = new Map<string, IFieldControl>();
  private readonly formError: HTMLElement;

  constructor(schema: IJSONSchema, values: Record<string, unknown> = {}) {
    this.fields = fieldsFromSchema(schema);
    this.node = document.createElement('div');
    this.node.className = 'lw-form';
    this.formError = document.createElement('div');
    this.formError.className = 'lw-form-error';
    this.formError.setAttribute('role', 'alert');
    this.node.appendChild(this.formError);
    const id = `lw-form-${++formCounter}`;
    for (const spec of this.fields) {
      this.node.appendChild(this.buildField(spec, values, `${id}-${spec.name}`));
    }
  }

  private buildField(
    spec: IFieldSpec,
    values: Record<string, unknown>,
    id: string
  ): HTMLElement {
    const present = Object.prototype.hasOwnProperty.call(values, spec.name);
    const original = present ? values[spec.name] : undefined;
    const row = document.createElement('div');
    row.className = 'lw-field';
    row.dataset.field = spec.name;
    const label = document.createElement('label');
    label.htmlFor = id;
    label.textContent = spec.label;
    if (spec.required) {
      const star = document.createElement('span');
      star.className = 'lw-required';
      star.textContent = ' *';
      star.title = 'required';
      label.appendChild(star);
    }
    row.appendChild(label);
    const input = this.buildInput(spec, original, present);
    input.id = id;
    input.name = spec.name;
    row.appendChild(input);
    if (spec.description) {
      const help = document.createElement('div');
      help.className = 'lw-help';
      help.textContent = spec.description;
      row.appendChild(help);
    }
    const error = document.createElement('div');
    error.className = 'lw-field-error';
    error.setAttribute('role', 'alert');
    row.appendChild(error);
    this.controls.set(spec.name, { spec, input, error, original, present });
    return row;
  }

  private buildInput(
    spec: IFieldSpec,
    original: unknown,
    present: boolean
  ): HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement {
    const value = present ? original : spec.default;
    if (spec.secret) {
      const input = document.createElement('input');
      input.type = 'password';
      input.autocomplete = 'off';
      input.value = ''; // never pre-filled
      input.placeholder = isEnvRef(original)
        ? `${original} (kept unless you type a new value)`
        : original === MASK
          ? 'stored (kept unless you type a new value)'
          : 'not set';
      return input;
    }
    if (spec.kind === 'boolean' && !isEnvRef(value)) {
      const input = document.createElement('input');
      input.type = 'checkbox';
      input.checked = value === true;
      return input;
    }
    if (spec.kind === 'enum' && !isEnvRef(value)) {
      const select = document.createElement('select');
      const options = spec.required && !spec.nullable ? spec.options : [null, ...spec.options];
      for (const option of options) {
        const el = document.createElement('option');
        el.value = option === null ? '' : String(option);
        el.textContent = option === null ? '(none)' : String(option);
        select.appendChild(el);
      }
      select.value = value === null || value === undefined ? '' : String(value);
      return select;
    }
    if (spec.kind === 'string-list' || spec.kind === 'json') {
      const area = document.createElement('textarea');
      area.rows = spec.kind === 'json' ? 3 : 2;
      area.value = textOf(spec, value);
      area.placeholder = spec.kind === 'json' ? 'JSON' : 'one per line';
      return area;
    }
    const input = document.createElement('input');
    input.type = 'text';
    if (spec.kind === 'number' || spec.kind === 'integer') {
      input.inputMode = spec.kind === 'integer' ? 'numeric' : 'decimal';
    }
    input.value = value === null || value === undefined ? '' : String(value);
    return input;
  }

  /** The settings as the form holds them; fields that cannot be read are in `errors`. */
  payload(): IPayload {
    const value: Record<string, unknown> = {};
    const errors: IProblem[] = [];
    for (const [name, control] of this.controls) {
      try {
        const read = readControl(control);
        if (read !== undefined) {
          value[name] = read;
        }
      } catch (e) {
        errors.push({ loc: ['config', name], message: (e as Error).message });
      }
    }
    return { value, errors };
  }

  /** Show problems next to their fields (loc `['config', field, ...]`); others above the form. */
  showErrors(problems: IProblem[]): void {
    this.clearErrors();
    const general: string[] = [];
    for (const problem of problems) {
      const loc = problem.loc[0] === 'config' ? problem.loc.slice(1) : problem.loc;
      const control = this.controls.get(String(loc[0]));
      if (control) {
        const line = document.createElement('div');
        line.textContent = problem.message;
        control.error.appendChild(line);
        control.input.setAttribute('aria-invalid', 'true');
        control.input.classList.add('lw-invalid');
      } else {
        general.push(problem.message);
      }
    }
    this.formError.textContent = general.join('\n');
  }

  clearErrors(): void {
    this.formError.textContent = '';
    for (const control of this.controls.values()) {
      control.error.textContent = '';
      control.input.removeAttribute('aria-invalid');
      control.input.classList.remove('lw-invalid');
    }
  }

  /** The input of a field (for tests and focus). */
  input(name: string): HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement | undefined {
    return this.controls.get(name)?.input;
  }

  /** The error text shown next to a field. */
  errorText(name: string): string {
    return this.controls.get(name)?.error.textContent ?? '';
  }

  get generalError(): string {
    return this.formError.textContent ?? '';
  }
}

function textOf(spec: IFieldSpec, value: unknown): string {
  if (value === undefined || value === null) {
    return '';
  }
  if (isEnvRef(value)) {
    return value;
  }
  if (spec.kind === 'string-list' && Array.isArray(value)) {
    return value.map(String).join('\n');
  }
  if (spec.kind === 'json' && typeof value === 'object' && Object.keys(value).length === 0) {
    return '';
  }
  return typeof value === 'string' && spec.kind !== 'json' ? value : JSON.stringify(value, null, 2);
}

/**
 * One field's value for the payload; undefined leaves it out (the provider's default applies).
 * A field stays in the payload when it was in the stored config, is required, or changed.
 */
function readControl(control: IFieldControl): unknown {
  const { spec, input, original, present } = control;
  if (spec.secret) {
    const typed = input.value;
    if (typed !== '') {
      return typed;
    }
    return present && original !== null && original !== '' ? original : undefined;
  }
  if (input instanceof HTMLInputElement && input.type === 'checkbox') {
    const checked = input.checked;
    const unchanged = checked === (spec.default === true);
    return present || !unchanged ? checked : undefined;
  }
  const text = input.value.trim();
  if (text === '') {
    if (spec.required && !(spec.kind === 'json' || spec.kind === 'string-list')) {
      throw new Error(`${spec.label} is required`);
    }
    if (spec.kind === 'string-list' || spec.kind === 'json') {
      return present && original !== null && !isEmpty(original) ? emptyOf(original) : undefined;
    }
    return present && original !== undefined && spec.nullable ? null : undefined;
  }
  if (isEnvRef(text)) {
    return text;
  }
  const value = parseText(spec, text);
  const isDefault = spec.hasDefault && JSON.stringify(value) === JSON.stringify(spec.default);
  return present || spec.required || !isDefault ? value : undefined;
}

function isEmpty(value: unknown): boolean {
  return typeof value === 'object' && value !== null && Object.keys(value).length === 0;
}

function emptyOf(value: unknown): unknown {
  return Array.isArray(value) ? [] : {};
}

function parseText(spec: IFieldSpec, text: string): unknown {
  switch (spec.kind) {
    case 'integer': {
      if (!/^-?\d+$/.test(text)) {
        throw new Error(`${spec.label}: '${text}' is not a whole number`);
      }
      return Number(text);
    }
    case 'number': {
      const n = Number(text);
      if (!Number.isFinite(n)) {
        throw new Error(`${spec.label}: '${text}' is not a number`);
      }
      return n;
    }
    case 'enum': {
      const match = spec.options.find(o => String(o) === text);
      return match === undefined ? text : match;
    }
    case 'string-list':
      return text
        .split('\n')
        .map(s => s.trim())
        .filter(s => s !== '');
    case 'json':
      try {
        return JSON.parse(text);
      } catch (e) {
        throw new Error(`${spec.label}: not valid JSON (${(e as Error).message})`);
      }
    default:
      return text;
  }
}
