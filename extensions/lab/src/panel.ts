/**
 * The "Llama Stack" sidebar panel: the run config, its APIs, providers and resources, and a
 * provider editor (form from the provider's schema, validate, test connection, save).
 */
import { Dialog, showDialog } from '@jupyterlab/apputils';
import { Message } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';

import {
  api,
  ApiError,
  ICatalogueEntry,
  IConfigState,
  IProvider,
  IResource,
  IServerSummary
} from './api';
import { IProblem, ProviderForm } from './form';

export interface IPanelOptions {
  configPath: string;
  defaultDistribution: string;
}

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  className = '',
  text = ''
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) {
    node.className = className;
  }
  if (text) {
    node.textContent = text;
  }
  return node;
}

function button(label: string, onClick: () => void, className = 'lw-button'): HTMLButtonElement {
  const b = el('button', `jp-Button ${className}`, label);
  b.type = 'button';
  b.addEventListener('click', onClick);
  return b;
}

/** What the editor is working on: a new provider of an API, or an existing one. */
interface IEditing {
  api: string;
  entry: ICatalogueEntry;
  existing: IProvider | null;
}

export class LlamaStackPanel extends Widget {
  private options: IPanelOptions;
  private state: IConfigState | null = null;
  private loaded = false;
  private pending: Promise<void> | null = null;
  private catalogue: ICatalogueEntry[] = [];
  private readonly statusLine = el('div', 'lw-status');
  private readonly body = el('div', 'lw-body');
  private readonly editorHost = el('div', 'lw-editor-host');

  constructor(options: IPanelOptions) {
    super();
    this.options = { ...options };
    this.id = 'llama-workbench-panel';
    this.addClass('lw-panel');
    this.title.caption = 'Llama Stack';
    this.statusLine.setAttribute('role', 'status');
    const header = el('div', 'lw-header');
    header.append(el('h2', '', 'Llama Stack'), button('Reload', () => void this.refresh()));
    this.node.append(header, this.statusLine, this.body, this.editorHost);
  }

  /** The first time the panel is shown, load the config (no requests until someone looks). */
  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    if (!this.loaded) {
      void this.refresh();
    }
  }

  /** New settings (config path, default distribution): show that config. */
  configure(options: IPanelOptions): void {
    const changed = options.configPath !== this.options.configPath;
    this.options = { ...options };
    if (changed && this.loaded) {
      void this.refresh();
    }
  }

  /** Load the config's state (and the provider catalogue once) and draw them. */
  refresh(): Promise<void> {
    // Opening the panel from the palette both shows it and asks for a refresh: load once.
    this.pending ??= this.load().finally(() => (this.pending = null));
    return this.pending;
  }

  private async load(): Promise<void> {
    this.loaded = true;
    this.setStatus('Loading…');
    try {
      if (this.catalogue.length === 0) {
        this.catalogue = (await api.catalogue()).providers;
      }
      this.state = await api.config(this.options.configPath);
      this.render();
      this.setStatus('');
    } catch (error) {
      this.setStatus(messageOf(error), true);
    }
  }

  private setStatus(text: string, isError = false): void {
    this.statusLine.textContent = text;
    this.statusLine.classList.toggle('lw-error', isError);
  }

  private render(): void {
    const state = this.state;
    this.body.textContent = '';
    if (!state) {
      return;
    }
    const where = el('div', 'lw-config-path');
    where.append(el('span', 'lw-muted', 'Run config: '), el('code', '', state.path));
    if (!state.exists) {
      where.append(el('span', 'lw-muted', ' (does not exist yet)'));
    }
    this.body.append(where, this.distributionChooser(state));
    if (state.server) {
      this.body.append(serverLine(state.server));
    }
    if (state.problems.length) {
      const list = el('ul', 'lw-problems');
      state.problems.forEach(p => list.append(el('li', '', p.message)));
      this.body.append(list);
    }
    state.warnings.forEach(w => this.body.append(el('div', 'lw-warning', w)));
    for (const group of state.apis) {
      const section = el('section', 'lw-api');
      section.dataset.api = group.api;
      section.append(el('h3', '', group.api));
      group.providers.forEach(p => section.append(this.providerRow(group.api, p)));
      if (group.providers.length === 0) {
        section.append(el('div', 'lw-muted', 'no providers'));
      }
      this.body.append(section);
    }
    const orphans = state.resources.filter(r => r.status.startsWith('unknown'));
    if (orphans.length) {
      const section = el('section', 'lw-api');
      section.append(el('h3', '', 'resources without a provider'));
      section.append(resourceList(orphans));
      this.body.append(section);
    }
    this.body.append(this.addProviderControls());
  }

  private distributionChooser(state: IConfigState): HTMLElement {
    const box = el('div', 'lw-distribution');
    const select = el('select');
    select.setAttribute('aria-label', 'Distribution');
    for (const d of state.distributions) {
      const option = el('option', '', d.name);
      option.value = d.name;
      option.title = d.description;
      select.append(option);
    }
    select.value = this.options.defaultDistribution;
    const label = state.exists ? 'Replace with distribution' : 'Start from distribution';
    box.append(
      el('span', 'lw-muted', 'Distribution: '),
      select,
      button(label, () => void this.startFrom(select.value))
    );
    return box;
  }

  private async startFrom(distribution: string): Promise<void> {
    const state = this.state;
    if (!state) {
      return;
    }
    if (state.exists) {
      const answer = await showDialog({
        title: 'Replace the run config?',
        body: `${state.path} becomes the '${distribution}' distribution (the current file is kept as a .bak backup).`,
        buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: 'Replace' })]
      });
      if (!answer.button.accept) {
        return;
      }
    }
    await this.apply(() => api.fromDistribution(this.options.configPath, distribution, state.revision));
  }

  private providerRow(apiName: string, provider: IProvider): HTMLElement {
    const row = el('div', 'lw-provider');
    row.dataset.providerId = provider.provider_id;
    const line = el('div', 'lw-provider-line');
    const badge = el('span', `lw-badge lw-status-${provider.status.split(' ')[0]}`, provider.status);
    line.append(
      el('strong', '', provider.provider_id),
      el('span', 'lw-muted', ` ${provider.provider_type} `),
      badge
    );
    const entry = this.entryFor(apiName, provider.provider_type);
    if (entry) {
      line.append(button('Edit', () => this.openEditor({ api: apiName, entry, existing: provider })));
    }
    line.append(button('Remove', () => void this.remove(apiName, provider)));
    row.append(line);
    if (provider.problems.length) {
      const list = el('ul', 'lw-problems');
      provider.problems.forEach(p => list.append(el('li', '', p.message)));
      row.append(list);
    }
    if (provider.resources.length) {
      row.append(resourceList(provider.resources));
    }
    return row;
  }

  private entryFor(apiName: string, providerType: string): ICatalogueEntry | undefined {
    return this.catalogue.find(c => c.api === apiName && c.provider_type === providerType);
  }

  private async remove(apiName: string, provider: IProvider): Promise<void> {
    const answer = await showDialog({
      title: 'Remove provider?',
      body: `Remove ${provider.provider_id} (${provider.provider_type}) from ${apiName}?`,
      buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: 'Remove' })]
    });
    if (answer.button.accept) {
      await this.apply(() =>
        api.removeProvider(
          this.options.configPath,
          apiName,
          provider.provider_id,
          this.state?.revision ?? null
        )
      );
    }
  }

  private addProviderControls(): HTMLElement {
    const box = el('div', 'lw-add');
    box.append(el('h3', '', 'Add a provider'));
    const apiSelect = el('select');
    apiSelect.setAttribute('aria-label', 'API');
    const typeSelect = el('select');
    typeSelect.setAttribute('aria-label', 'Provider type');
    const apis = [...new Set(this.catalogue.map(c => c.api))];
    apis.forEach(a => {
      const option = el('option', '', a);
      option.value = a;
      apiSelect.append(option);
    });
    const fillTypes = () => {
      typeSelect.textContent = '';
      this.catalogue
        .filter(c => c.api === apiSelect.value)
        .forEach(c => {
          const option = el('option', '', c.provider_type);
          option.value = c.provider_type;
          option.title = c.description;
          typeSelect.append(option);
        });
    };
    apiSelect.addEventListener('change', fillTypes);
    apiSelect.value = apis.includes('inference') ? 'inference' : apis[0] ?? '';
    fillTypes();
    box.append(
      apiSelect,
      typeSelect,
      button('Add provider', () => {
        const entry = this.entryFor(apiSelect.value, typeSelect.value);
        if (entry) {
          this.openEditor({ api: apiSelect.value, entry, existing: null });
        }
      })
    );
    return box;
  }

  /** The provider editor: id, form from the schema, validate / test connection / save. */
  private openEditor(editing: IEditing): void {
    const { entry, existing } = editing;
    this.editorHost.textContent = '';
    const box = el('div', 'lw-editor');
    box.setAttribute('aria-label', 'Provider editor');
    const title = existing ? `Edit ${existing.provider_id}` : `New ${entry.provider_type} provider`;
    box.append(el('h3', '', `${title} (${editing.api})`), el('div', 'lw-help', entry.description));
    if (!entry.schema) {
      box.append(el('div', 'lw-error', entry.error ?? 'This provider has no settings schema.'));
      this.editorHost.append(box);
      return;
    }
    const idRow = el('div', 'lw-field');
    const idLabel = el('label', '', 'Provider id');
    idLabel.append(el('span', 'lw-required', ' *'));
    const idInput = el('input');
    idInput.type = 'text';
    idInput.name = 'provider_id';
    idInput.id = 'lw-provider-id';
    idLabel.htmlFor = idInput.id;
    idInput.value = existing?.provider_id ?? defaultId(entry.provider_type, this.state);
    const idError = el('div', 'lw-field-error');
    idRow.append(idLabel, idInput, idError);
    const form = new ProviderForm(entry.schema, existing?.config ?? {});
    const result = el('div', 'lw-result');
    result.setAttribute('role', 'status');
    const body = (): Record<string, unknown> | null => {
      const read = form.payload();
      idError.textContent = '';
      if (read.errors.length) {
        form.showErrors(read.errors);
        return null;
      }
      return {
        api: editing.api,
        provider_id: idInput.value.trim(),
        provider_type: entry.provider_type,
        config: read.value,
        path: this.options.configPath,
        revision: this.state?.revision ?? null
      };
    };
    const report = (error: unknown) => {
      const problems: IProblem[] = error instanceof ApiError ? error.problems : [];
      form.showErrors(problems.filter(p => p.loc[0] !== 'provider_id'));
      problems
        .filter(p => p.loc[0] === 'provider_id')
        .forEach(p => (idError.textContent = p.message));
      result.className = 'lw-result lw-error';
      result.textContent = problems.length ? 'Please fix the fields marked below.' : messageOf(error);
      if (problems.length === 0 && error instanceof ApiError && error.message.includes('provider_id')) {
        idError.textContent = error.message;
      }
    };
    const actions = el('div', 'lw-actions');
    actions.append(
      button('Validate', async () => {
        const payload = body();
        if (!payload) {
          return;
        }
        try {
          const checked = await api.validateProvider(payload);
          form.showErrors(checked.problems);
          result.className = checked.valid ? 'lw-result lw-ok' : 'lw-result lw-error';
          result.textContent = checked.valid
            ? ['Valid.', ...checked.warnings].join(' ')
            : 'Please fix the fields marked below.';
        } catch (error) {
          report(error);
        }
      })
    );
    if (entry.testable) {
      actions.append(
        button('Test connection', async () => {
          const payload = body();
          if (!payload) {
            return;
          }
          result.className = 'lw-result';
          result.textContent = 'Connecting…';
          try {
            const answer = await api.testConnection({
              ...payload,
              provider_id: existing?.provider_id ?? payload.provider_id
            });
            form.clearErrors();
            result.className = answer.ok ? 'lw-result lw-ok' : 'lw-result lw-error';
            result.textContent = answer.ok ? `Connected: ${answer.message}` : answer.message;
            if (answer.ok) {
              const list = el('ul', 'lw-models');
              answer.models.forEach(m => list.append(el('li', '', m)));
              result.append(list);
            }
          } catch (error) {
            report(error);
          }
        })
      );
    }
    actions.append(
      button(
        'Save',
        async () => {
          const payload = body();
          if (!payload) {
            return;
          }
          try {
            const path = this.options.configPath;
            const state = existing
              ? await api.editProvider(path, editing.api, existing.provider_id, payload)
              : await api.addProvider(path, editing.api, payload);
            this.editorHost.textContent = '';
            this.showState(state);
          } catch (error) {
            report(error);
          }
        },
        'lw-button lw-primary'
      ),
      button('Cancel', () => (this.editorHost.textContent = ''))
    );
    box.append(idRow, form.node, actions, result);
    this.editorHost.append(box);
    box.scrollIntoView({ block: 'nearest' });
  }

  private async apply(call: () => Promise<IConfigState>): Promise<void> {
    try {
      this.showState(await call());
    } catch (error) {
      this.setStatus(messageOf(error), true);
    }
  }

  private showState(state: IConfigState): void {
    this.state = state;
    this.render();
    if (state.saved) {
      const backup = state.saved.backup ? ` (previous version: ${state.saved.backup})` : '';
      this.setStatus(`Saved ${state.saved.path}${backup}`);
    }
  }
}

/** The served config's sign-in and limits, in words (the server sends no secret to show). */
function serverLine(server: IServerSummary): HTMLElement {
  const line = el('div', 'lw-server');
  line.dataset.auth = server.auth;
  const parts = [
    `auth: ${server.auth}`,
    `access: ${server.access}`,
    `routes: ${server.routes}`,
    `quota: ${server.quota}`,
    server.tls ? 'HTTPS' : 'HTTP',
    ...(server.cors ? ['CORS'] : [])
  ];
  line.append(el('span', 'lw-muted', 'Server: '), el('span', '', parts.join(' · ')));
  return line;
}

function resourceList(resources: IResource[]): HTMLElement {
  const list = el('ul', 'lw-resources');
  for (const r of resources) {
    const item = el('li', '', `${r.kind.replace(/s$/, '')}: ${r.id}`);
    if (r.status !== 'ok') {
      item.append(el('span', 'lw-badge lw-status-invalid', r.status));
    }
    list.append(item);
  }
  return list;
}

function defaultId(providerType: string, state: IConfigState | null): string {
  const base = providerType.split('::').pop() ?? 'provider';
  const taken = new Set(
    (state?.apis ?? []).flatMap(a => a.providers.map(p => p.provider_id))
  );
  let id = base;
  for (let n = 2; taken.has(id); n++) {
    id = `${base}-${n}`;
  }
  return id;
}

function messageOf(error: unknown): string {
  if (error instanceof Error) {
    return error.message;
  }
  return String(error);
}
