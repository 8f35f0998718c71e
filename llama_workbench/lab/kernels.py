"""One run config for the panel and the kernels: kernels inherit the Jupyter server's environment,
so the config the panel edits becomes theirs through LLAMA_WORKBENCH_CONFIG."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from llama_workbench.lab.store import CONFIG_ENV

# Jupyter config: c.LlamaWorkbenchLab.share_config_with_kernels = False turns this off.
CONFIG_SECTION = "LlamaWorkbenchLab"
SHARE_OPTION = "share_config_with_kernels"
SETTING = "llama_workbench_share_config"  # in the web app's settings, for the handlers

logger = logging.getLogger(__name__)


def share_with_kernels(path: Path, enabled: bool = True) -> bool:
    """Point kernels started from now on at `path` (an existing run config), unless sharing is
    off or the user chose a config already (LLAMA_WORKBENCH_CONFIG set). True when it did.

    Kernels already running keep their stack until `%llama config <path>`; a kernel whose stack
    came from this file reloads it on its next use after a save.
    """
    if not enabled or os.environ.get(CONFIG_ENV) or not path.is_file():
        return False
    os.environ[CONFIG_ENV] = str(path)
    logger.info("llama_workbench: kernels started from now on use %s", path)
    return True
