/**
 * llama-workbench-lab: the "Llama Stack" panel in JupyterLab's left sidebar, a command to open
 * it, and its settings (config path, default distribution).
 */
import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { LabIcon } from '@jupyterlab/ui-components';

import { IPanelOptions, LlamaStackPanel } from './panel';

const PLUGIN_ID = 'llama-workbench-lab:plugin';
const OPEN_COMMAND = 'llama-workbench:open-panel';

const llamaIcon = new LabIcon({
  name: 'llama-workbench:llama',
  svgstr:
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24"><g class="jp-icon3" fill="#616161">' +
    '<path d="M7 3h2v5h6V5h2v6.5c0 .6.4 1 1 1h1v8.5h-2v-6h-1v6h-2v-6H9v6H7v-6H6v6H4v-8.5' +
    'C4 12 5 11 6 11h1z"/><circle cx="15.5" cy="7" r="1"/></g></svg>'
});

function readSettings(settings: ISettingRegistry.ISettings | null): IPanelOptions {
  return {
    configPath: (settings?.get('configPath').composite as string) ?? '',
    defaultDistribution: (settings?.get('defaultDistribution').composite as string) || 'starter'
  };
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description: 'Configure llama_workbench providers and distributions from JupyterLab.',
  autoStart: true,
  optional: [ICommandPalette, ISettingRegistry, ILayoutRestorer],
  activate: async (
    app: JupyterFrontEnd,
    palette: ICommandPalette | null,
    settingRegistry: ISettingRegistry | null,
    restorer: ILayoutRestorer | null
  ) => {
    const panel = new LlamaStackPanel(readSettings(null));
    panel.title.icon = llamaIcon;
    app.shell.add(panel, 'left', { rank: 600 });
    restorer?.add(panel, panel.id);
    app.commands.addCommand(OPEN_COMMAND, {
      label: 'Open the Llama Stack panel',
      caption: 'Show the run config, its providers and resources',
      icon: llamaIcon,
      execute: () => {
        app.shell.activateById(panel.id);
        void panel.refresh();
      }
    });
    palette?.addItem({ command: OPEN_COMMAND, category: 'Llama Stack' });

    if (settingRegistry) {
      try {
        const settings = await settingRegistry.load(PLUGIN_ID);
        panel.configure(readSettings(settings));
        settings.changed.connect(() => panel.configure(readSettings(settings)));
      } catch (reason) {
        console.error('llama-workbench-lab: could not load its settings', reason);
      }
    }
  }
};

export default plugin;
