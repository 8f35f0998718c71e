"""inline::code-scanner: insecure code in messages, found by Meta's CodeShield rules and semgrep."""

from __future__ import annotations

from llama_workbench.core.datatypes import ProviderDeps
from llama_workbench.providers.inline.safety.code_scanner.config import CodeScannerConfig


async def create(config: CodeScannerConfig, deps: ProviderDeps) -> object:
    from llama_workbench.providers.inline.safety.code_scanner.extract import markdown_parser
    from llama_workbench.providers.inline.safety.code_scanner.impl import CodeScannerImpl
    from llama_workbench.providers.inline.safety.code_scanner.rules import (
        RuleSet,
        rules_root,
        semgrep_core,
    )
    from llama_workbench.providers.inline.safety.code_scanner.scanner import Scanner

    # Each raises MissingDependencyError (pip install 'llama-workbench[safety]') now, not per call.
    markdown_parser()
    rules = RuleSet(rules_root(), config.rule_set)
    scanner = Scanner(rules, semgrep_core(), config)
    return CodeScannerImpl(config, scanner)
