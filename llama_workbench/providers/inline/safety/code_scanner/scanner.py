"""CodeShield's rules run as CodeShield runs them: regexes in-process, the rest by one semgrep run."""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llama_workbench.core.errors import ProviderError
from llama_workbench.providers.inline.safety.code_scanner.config import CodeScannerConfig
from llama_workbench.providers.inline.safety.code_scanner.extract import CodeBlock
from llama_workbench.providers.inline.safety.code_scanner.rules import (
    PROVIDER,
    SEMGREP,
    RuleSet,
    SemgrepRule,
)

log = logging.getLogger(__name__)
_COMMENT = re.compile(r"^\s*(?:#|//|/\*)|\*/\s*$")


@dataclass(frozen=True)
class Finding:
    """One rule that fired on one line of one code block."""

    rule: str
    description: str
    severity: str
    line: int  # 1-based within the block
    block: CodeBlock
    cwe: str | None
    analyzer: str

    def as_metadata(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "rule": self.rule,
            "description": self.description,
            "severity": self.severity,
            "language": self.block.language,
            "line": self.line,
            "message_line": self.block.first_line + self.line - 1,
            "block": self.block.block,
            "message_index": self.block.message_index,
            "analyzer": self.analyzer,
        }
        return {**data, "cwe": self.cwe} if self.cwe else data


class SemgrepFailed(ProviderError):
    """semgrep exited with an error (a rule it cannot load, a crash)."""


class Scanner:
    """Finds insecure code in blocks: one regex pass, then one semgrep run for all of them."""

    def __init__(self, rules: RuleSet, core: Path, config: CodeScannerConfig) -> None:
        self.rules = rules
        self.core = core
        self.timeout_s = config.timeout_s
        self.regex_timeout_s = config.regex_timeout_s
        self._gate = threading.BoundedSemaphore(config.max_concurrent_scans)
        self._loadable: dict[str, tuple[SemgrepRule, ...]] = {}  # by rule file, once checked

    def scan(self, blocks: list[CodeBlock]) -> list[Finding]:
        """Every finding in `blocks`, sorted by message, block and line (blocking: run in a thread)."""
        found = [f for block in blocks for f in self._regex(block)]
        found += self._semgrep([b for b in blocks if self._semgrep_worth_it(b)])
        unique = {(f.block.message_index, f.block.block, f.rule, f.line): f for f in found}
        return sorted(unique.values(), key=lambda f: (f.block.message_index, f.block.block, f.line))

    def _regex(self, block: CodeBlock) -> list[Finding]:
        found = []
        for rule in self.rules.regex_rules(block.language):
            for match in self._search(rule.id, rule.pattern, block):
                line_start = block.code.rfind("\n", 0, match.start()) + 1
                if _COMMENT.search(block.code[line_start : match.start()]):
                    continue  # CodeShield skips matches in comments
                line = block.code.count("\n", 0, match.start()) + 1
                found.append(
                    Finding(
                        rule.id, rule.description, rule.severity, line, block, rule.cwe, "regex"
                    )
                )
        return found

    def _search(self, rule: str, pattern: Any, block: CodeBlock) -> list[Any]:
        try:
            return list(pattern.finditer(block.code, timeout=self.regex_timeout_s))
        except TimeoutError:
            raise ProviderError(
                PROVIDER,
                f"rule {rule} took over {self.regex_timeout_s:g}s on block {block.block} of "
                f"message {block.message_index} ({len(block.code)} characters)",
            ) from None

    def _semgrep_rules(self, language: str) -> tuple[SemgrepRule, ...]:
        if language not in SEMGREP:
            return ()
        return self._loadable.get(SEMGREP[language][0], self.rules.semgrep_rules(language))

    def _semgrep_worth_it(self, block: CodeBlock) -> bool:
        """CodeShield's prescan: semgrep only sees code that one of its rules' regexes matches."""
        try:
            return any(
                rule.prescan.search(block.code, timeout=self.regex_timeout_s)
                for rule in self._semgrep_rules(block.language)
            )
        except TimeoutError:  # semgrep will tell, with its own time limits
            return True

    def _semgrep(self, blocks: list[CodeBlock]) -> list[Finding]:
        if not blocks:
            return []
        try:
            return self._semgrep_once(blocks)
        except SemgrepFailed:
            unchecked = {
                SEMGREP[b.language][0]: b.language
                for b in blocks
                if SEMGREP[b.language][0] not in self._loadable
            }
            if not unchecked:
                raise
            for language in unchecked.values():  # a semgrep that can't load some rule: drop it
                self._check_rules(language)
            return self._semgrep_once(blocks)

    def _semgrep_once(self, blocks: list[CodeBlock]) -> list[Finding]:
        with tempfile.TemporaryDirectory(prefix="lw-code-scanner-") as tmp:
            work = Path(tmp)
            targets = self._write_targets(work, blocks)
            rules = {r.id: r for b in blocks for r in self._semgrep_rules(b.language)}
            output = self._run(work, list(rules.values()), list(targets))
        return self._parse(output, targets, rules)

    def _check_rules(self, language: str) -> None:
        """Keep the rules of a language that this semgrep loads (each tried alone if need be)."""
        rules = self.rules.semgrep_rules(language)
        file_language, suffix = SEMGREP[language]
        with tempfile.TemporaryDirectory(prefix="lw-code-scanner-") as tmp:
            work = Path(tmp)
            (work / f"empty{suffix}").write_text("\n", encoding="utf-8")

            failures: list[SemgrepFailed] = []

            def loads(some: tuple[SemgrepRule, ...]) -> bool:
                try:
                    self._run(work, list(some), [f"empty{suffix}"])
                except SemgrepFailed as exc:
                    failures.append(exc)
                    return False
                return True

            usable = rules if loads(rules) else tuple(r for r in rules if loads((r,)))
        if rules and not usable:
            raise failures[-1]  # not a rule semgrep can't read: semgrep itself does not work
        dropped = [r.name for r in rules if r not in usable]
        if dropped:
            log.warning("This semgrep can't load CodeShield's %s rules %s", file_language, dropped)
        self._loadable[file_language] = usable

    def _write_targets(
        self, work: Path, blocks: list[CodeBlock]
    ) -> dict[str, tuple[CodeBlock, int]]:
        """One file per block, named by its position; each with the lines to take off (PHP tag)."""
        targets: dict[str, tuple[CodeBlock, int]] = {}
        for number, block in enumerate(blocks):
            code, shift = block.code, 0
            if block.language == "php" and "<?php" not in code:
                code, shift = "<?php\n" + code, 1  # semgrep reads PHP only after the open tag
            name = f"block{number}{SEMGREP[block.language][1]}"
            (work / name).write_text(code, encoding="utf-8")
            targets[name] = (block, shift)
        return targets

    def _run(self, work: Path, rules: list[SemgrepRule], targets: list[str]) -> dict[str, Any]:
        config = work / "rules.json"
        config.write_text(json.dumps({"rules": [r.body for r in rules]}), encoding="utf-8")
        # osemgrep is semgrep-core called by that name; no network: local rules, no metrics,
        # no version check, settings kept in the scratch folder rather than in ~/.semgrep.
        command = ["osemgrep", "--experimental", "--metrics", "off", "--disable-version-check"]
        command += ["--quiet", "--json", "--config", config.name, *targets]
        env = {k: v for k, v in os.environ.items() if not k.startswith("SEMGREP_")}
        env |= {
            "SEMGREP_SEND_METRICS": "off",
            "SEMGREP_ENABLE_VERSION_CHECK": "0",
            "SEMGREP_SETTINGS_FILE": str(work / "settings.yml"),
            "NO_COLOR": "1",
        }
        try:
            with self._gate:
                done = subprocess.run(
                    command,
                    executable=self.core,
                    capture_output=True,
                    text=True,
                    env=env,
                    cwd=work,
                    timeout=self.timeout_s,
                    check=False,
                )
        except subprocess.TimeoutExpired:
            raise ProviderError(PROVIDER, f"semgrep took over {self.timeout_s:g}s") from None
        if done.returncode != 0 or not done.stdout.strip():
            detail = (done.stderr or done.stdout).strip()[-500:]
            raise SemgrepFailed(PROVIDER, f"semgrep failed (exit {done.returncode}): {detail}")
        result: dict[str, Any] = json.loads(done.stdout)
        fatal = [e for e in result.get("errors", []) if e.get("level") == "error"]
        if fatal:
            raise SemgrepFailed(PROVIDER, f"semgrep: {fatal[0].get('message', fatal[0])}")
        return result

    def _parse(
        self,
        output: dict[str, Any],
        targets: dict[str, tuple[CodeBlock, int]],
        rules: dict[str, SemgrepRule],
    ) -> list[Finding]:
        found = []
        for result in output.get("results", []):
            block, shift = targets[Path(result["path"]).name]
            rule = rules[result["check_id"].rsplit(".", 1)[-1]]
            line = int(result["start"]["line"]) - shift
            if not 1 <= line <= len(block.code.splitlines()):
                continue
            message = result.get("extra", {}).get("message") or rule.body.get("message", "")
            description = " ".join(str(message).split())
            found.append(
                Finding(rule.name, description, rule.severity, line, block, rule.cwe, "semgrep")
            )
        return found
