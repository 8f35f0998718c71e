"""inline::code-scanner: insecure code in messages, found by Meta's CodeShield rules and semgrep."""

from __future__ import annotations

from typing import TYPE_CHECKING

from llama_workbench.core.datatypes import ProviderDeps
from llama_workbench.providers.inline.safety.code_scanner.config import CodeScannerConfig
from llama_workbench.providers.utils.installed import require_installed

if TYPE_CHECKING:
    from llama_workbench.providers.inline.safety.code_scanner.impl import CodeScannerImpl


async def create(config: CodeScannerConfig, deps: ProviderDeps) -> CodeScannerImpl:
    from llama_workbench.providers.inline.safety.code_scanner.impl import CodeScannerImpl
    from llama_workbench.providers.inline.safety.code_scanner.rules import (
        PROVIDER,
        RuleSet,
        rules_root,
        semgrep_core,
    )
    from llama_workbench.providers.inline.safety.code_scanner.scanner import Scanner

    # Each raises MissingDependencyError (pip install 'llama-workbench[safety]') now, not per
    # call; the parser and the regex engine are imported on the first scan.
    require_installed("markdown_it", "safety", needed_by=PROVIDER, package="markdown-it-py")
    require_installed("regex", "safety", needed_by=PROVIDER)
    rules = RuleSet(rules_root(), config.rule_set)
    scanner = Scanner(rules, semgrep_core(), config)
    return CodeScannerImpl(config, scanner)
