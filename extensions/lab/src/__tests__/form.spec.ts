/**
 * The form generated from a provider's pydantic JSON schema: fields, payload, secrets, errors.
 */
import { fieldsFromSchema, IJSONSchema, labelOf, MASK, ProviderForm } from '../form';
import vllmSchema from './fixtures/vllm.schema.json';

const vllm = vllmSchema as IJSONSchema;

/** A schema in the shapes pydantic emits for enums ($ref), literals and required fields. */
const shieldSchema: IJSONSchema = {
  $defs: { ViolationLevel: { enum: ['error', 'warn', 'info'], type: 'string', title: 'ViolationLevel' } },
  properties: {
    name: { type: 'string', title: 'Name', description: 'Shown to users.' },
    level: { $ref: '#/$defs/ViolationLevel', default: 'error' },
    threshold: { type: 'number', default: 0.8, title: 'Threshold' },
    password: { type: 'string', title: 'Password' },
    settings: { type: 'object', title: 'Settings', additionalProperties: true },
    mode: { anyOf: [{ type: 'string' }, { type: 'integer' }], title: 'Mode' }
  },
  required: ['name'],
  type: 'object'
};

function setValue(form: ProviderForm, name: string, value: string): void {
  const input = form.input(name) as HTMLInputElement;
  input.value = value;
}

describe('fieldsFromSchema', () => {
  it('turns a real provider schema into typed fields with defaults and descriptions', () => {
    const fields = fieldsFromSchema(vllm);
    const byName = Object.fromEntries(fields.map(f => [f.name, f]));
    expect(byName.base_url).toMatchObject({
      kind: 'string',
      label: 'Base URL',
      default: 'http://localhost:8000/v1',
      description: 'The OpenAI-compatible base URL, ending in /v1.'
    });
    expect(byName.api_key).toMatchObject({ kind: 'string', secret: true, nullable: true });
    expect(byName.max_retries.kind).toBe('integer');
    expect(byName.timeout_s.kind).toBe('number');
    expect(byName.discover_models).toMatchObject({ kind: 'boolean', default: true });
    expect(byName.models.kind).toBe('string-list');
    expect(byName.embedding_models.kind).toBe('json');
    expect(fields.map(f => f.name)[0]).toBe('base_url');
  });

  it('resolves $ref enums, marks required fields and edits other unions as JSON', () => {
    const byName = Object.fromEntries(fieldsFromSchema(shieldSchema).map(f => [f.name, f]));
    expect(byName.level).toMatchObject({ kind: 'enum', options: ['error', 'warn', 'info'] });
    expect(byName.name.required).toBe(true);
    expect(byName.threshold.required).toBe(false);
    expect(byName.password.secret).toBe(false); // the schema does not say so: the server masks by name
    expect(byName.settings.kind).toBe('json');
    expect(byName.mode.kind).toBe('json');
  });
});

describe('labelOf', () => {
  it('shows units and acronyms, and keeps titles an author wrote', () => {
    expect(labelOf('timeout_s', 'Timeout S')).toBe('Timeout (s)');
    expect(labelOf('connect_timeout_s', 'Connect Timeout S')).toBe('Connect timeout (s)');
    expect(labelOf('base_url', 'Base Url')).toBe('Base URL');
    expect(labelOf('api_key', 'Api Key')).toBe('API key');
    expect(labelOf('max_retries', 'Max Retries')).toBe('Max retries');
    expect(labelOf('dtype', 'Model precision')).toBe('Model precision');
    expect(labelOf('s')).toBe('S');
  });
});

describe('ProviderForm', () => {
  it('renders inputs of the right type, required markers and help text', () => {
    const form = new ProviderForm(shieldSchema, {});
    document.body.appendChild(form.node);
    expect((form.input('threshold') as HTMLInputElement).value).toBe('0.8');
    expect(form.input('level')).toBeInstanceOf(HTMLSelectElement);
    expect((form.input('level') as HTMLSelectElement).value).toBe('error');
    expect(form.input('settings')).toBeInstanceOf(HTMLTextAreaElement);
    const nameRow = form.node.querySelector('[data-field="name"]')!;
    expect(nameRow.querySelector('.lw-required')).not.toBeNull();
    expect(nameRow.textContent).toContain('Shown to users.');
    expect(form.node.querySelector('[data-field="threshold"] .lw-required')).toBeNull();
    const label = nameRow.querySelector('label')!;
    expect(document.getElementById(label.htmlFor)).toBe(form.input('name'));
    form.node.remove();
  });

  it('sends only what was stored, required or changed, typed as the schema says', () => {
    const form = new ProviderForm(vllm, { base_url: 'http://127.0.0.1:9/v1' });
    expect(form.payload()).toEqual({ value: { base_url: 'http://127.0.0.1:9/v1' }, errors: [] });
    setValue(form, 'max_retries', '5');
    setValue(form, 'timeout_s', '2.5');
    setValue(form, 'models', 'a\n b \n\nc');
    setValue(form, 'embedding_models', '{"e5": 384}');
    (form.input('discover_models') as HTMLInputElement).checked = false;
    expect(form.payload().value).toEqual({
      base_url: 'http://127.0.0.1:9/v1',
      max_retries: 5,
      timeout_s: 2.5,
      models: ['a', 'b', 'c'],
      embedding_models: { e5: 384 },
      discover_models: false
    });
  });

  it('keeps ${env.X} references as text in any field', () => {
    const form = new ProviderForm(vllm, {
      base_url: '${env.VLLM_URL:=http://localhost:8000/v1}',
      max_retries: '${env.RETRIES:=2}'
    });
    expect((form.input('max_retries') as HTMLInputElement).value).toBe('${env.RETRIES:=2}');
    expect(form.payload().value).toEqual({
      base_url: '${env.VLLM_URL:=http://localhost:8000/v1}',
      max_retries: '${env.RETRIES:=2}'
    });
  });

  it('never pre-fills a secret: the stored mask goes back unless a new value is typed', () => {
    const form = new ProviderForm(vllm, { base_url: 'http://x/v1', api_key: MASK });
    const key = form.input('api_key') as HTMLInputElement;
    expect(key.type).toBe('password');
    expect(key.value).toBe('');
    expect(form.node.innerHTML).not.toContain(MASK);
    expect(form.payload().value.api_key).toBe(MASK);
    key.value = 'sk-new';
    expect(form.payload().value.api_key).toBe('sk-new');
  });

  it('shows an env reference of a secret as a hint, not as the value, and keeps it', () => {
    const form = new ProviderForm(vllm, { api_key: '${env.VLLM_API_TOKEN}' });
    const key = form.input('api_key') as HTMLInputElement;
    expect(key.value).toBe('');
    expect(key.placeholder).toContain('${env.VLLM_API_TOKEN}');
    expect(form.payload().value.api_key).toBe('${env.VLLM_API_TOKEN}');
  });

  it('leaves an unset secret out of the payload', () => {
    const form = new ProviderForm(vllm, {});
    expect('api_key' in form.payload().value).toBe(false);
  });

  it('reports fields it cannot read, by loc', () => {
    const form = new ProviderForm(shieldSchema, {});
    setValue(form, 'threshold', 'high');
    setValue(form, 'settings', '{not json');
    const { errors } = form.payload();
    expect(errors.map(e => e.loc)).toEqual([
      ['config', 'name'],
      ['config', 'threshold'],
      ['config', 'settings']
    ]);
    expect(errors[0].message).toBe('Name is required');
    expect(errors[2].message).toContain('not valid JSON');
  });

  it("places the server's validation errors next to their fields", () => {
    const form = new ProviderForm(vllm, {});
    form.showErrors([
      { loc: ['config', 'max_retries'], message: 'config.max_retries = 50: should be <= 10' },
      { loc: ['config', 'models', 1], message: 'config.models[1]: should be a string' },
      { loc: [], message: 'providers.inference: id used twice' }
    ]);
    expect(form.errorText('max_retries')).toContain('should be <= 10');
    expect(form.input('max_retries')!.getAttribute('aria-invalid')).toBe('true');
    expect(form.errorText('models')).toContain('should be a string');
    expect(form.errorText('base_url')).toBe('');
    expect(form.generalError).toContain('id used twice');
    form.clearErrors();
    expect(form.errorText('max_retries')).toBe('');
    expect(form.input('max_retries')!.hasAttribute('aria-invalid')).toBe(false);
  });
});
