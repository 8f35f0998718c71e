"""Meta's CodeShield rules, read from the files of the `codeshield` package (without importing it)."""

from __future__ import annotations

import functools
import importlib
import importlib.util
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from llama_workbench.core.errors import MissingDependencyError

# libyaml's loader where the wheel has it: CodeShield's config parses ~10x faster (start-up).
_YAML = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
PROVIDER = "inline::code-scanner"
# The languages semgrep scans, with the rule file each uses and the file suffix semgrep parses.
SEMGREP: dict[str, tuple[str, str]] = {
    "python": ("python", ".py"),
    "javascript": ("javascript", ".js"),
    "typescript": ("javascript", ".ts"),
    "c": ("c", ".c"),
    "cpp": ("cpp", ".cpp"),
    "csharp": ("csharp", ".cs"),
    "java": ("java", ".java"),
    "php": ("php", ".php"),
}
# Regex rule files a language also takes, as CodeShield's loader does (C++ and Objective-C are C).
REGEX_EXTRA: dict[str, tuple[str, ...]] = {"cpp": ("c",), "objective_c": ("c",)}
REGEX_ALIAS = {"typescript": "javascript"}
SEVERITY = {"error": "error", "warning": "warning", "advice": "advice", "info": "advice"}


@dataclass(frozen=True)
class RegexRule:
    id: str
    description: str
    severity: str
    cwe: str | None
    pattern: Any  # compiled by the `regex` package, whose searches can be given a time limit


@dataclass(frozen=True)
class SemgrepRule:
    body: dict[str, Any]  # the rule as semgrep reads it
    name: str  # CodeShield's id
    language: str  # of its rule file
    prescan: Any  # semgrep need not run on code this does not match (a `regex` pattern)

    @property
    def id(self) -> str:
        return str(self.body["id"])

    @property
    def severity(self) -> str:
        return SEVERITY.get(str(self.body.get("severity", "")).lower(), "warning")

    @property
    def cwe(self) -> str | None:
        return self.body.get("metadata", {}).get("cwe_id") or None


def _prescan(pattern: str) -> Any:
    # Some of C#'s prescans are anchored (^MD5CryptoServiceProvider$), which code never matches
    # as a whole; a prescan is a search for a word its rule needs, so the anchors go.
    pattern = pattern.removeprefix("^")
    if pattern.endswith("$") and not pattern.endswith("\\$"):
        pattern = pattern[:-1]
    return regex_engine().compile(pattern)


@functools.cache
def regex_engine() -> Any:
    """The `regex` package: like `re`, but a search can time out (some rules backtrack badly)."""
    try:
        return importlib.import_module("regex")
    except ImportError:
        raise MissingDependencyError("regex", "safety", needed_by=PROVIDER) from None


def rules_root() -> Path:
    """The rules folder of the installed `codeshield` package, found without importing it."""
    spec = importlib.util.find_spec("codeshield")
    for location in (spec.submodule_search_locations or []) if spec else []:
        root = Path(location) / "insecure_code_detector" / "rules"
        if (root / "config.yaml").is_file():
            return root
    raise MissingDependencyError("codeshield", "safety", needed_by=PROVIDER)


def semgrep_core() -> Path:
    """The semgrep engine binary that the `semgrep` wheel ships (else one on PATH)."""
    spec = importlib.util.find_spec("semgrep")
    for location in (spec.submodule_search_locations or []) if spec else []:
        binary = Path(location) / "bin" / "semgrep-core"
        if binary.is_file():
            return binary
    found = shutil.which("semgrep-core")
    if found is None:
        raise MissingDependencyError("semgrep", "safety", needed_by=PROVIDER)
    return Path(found)


class RuleSet:
    """One of CodeShield's rule sets ("codeshield" or "cyberseceval"), loaded from its files."""

    def __init__(self, root: Path, name: str) -> None:
        self.root = root
        self.name = name
        with open(root / "config.yaml", encoding="utf-8") as f:
            self._enabled: dict[str, Any] = yaml.load(f, Loader=_YAML)["config"][name]

    @functools.cache  # noqa: B019 - one RuleSet per provider, a few languages each
    def regex_rules(self, language: str) -> tuple[RegexRule, ...]:
        language = REGEX_ALIAS.get(language, language)
        rules: dict[str, RegexRule] = {}
        for source in (language, *REGEX_EXTRA.get(language, ()), "language_agnostic"):
            for rule in self._regex_file(source):
                rules.setdefault(rule.id, rule)
        return tuple(rules.values())

    def _regex_file(self, language: str) -> list[RegexRule]:
        path = self.root / "regex" / f"{language}.yaml"
        if not path.is_file():
            return []
        enabled = self._enabled.get(language, {}).get("regex", {}).get("rules") or []
        with open(path, encoding="utf-8") as f:
            patterns = yaml.load(f, Loader=_YAML) or []
        return [
            RegexRule(
                id=p["pattern_id"],
                description=" ".join(str(p["description"]).split()),
                severity=SEVERITY[str(p["severity"]).lower()],
                cwe=p.get("cwe_id") or None,
                pattern=regex_engine().compile(p["rule"]),
            )
            for p in patterns
            if p.get("pattern_id") in enabled and str(p["severity"]).lower() in SEVERITY
        ]

    @functools.cache  # noqa: B019
    def semgrep_rules(self, language: str) -> tuple[SemgrepRule, ...]:
        """The semgrep rules of a language (TypeScript takes JavaScript's), ids made unique."""
        file_language = SEMGREP[language][0]
        path = self.root / "semgrep" / "_generated_" / f"{file_language}_{self.name}.json"
        if not path.is_file():
            return ()
        with open(path, encoding="utf-8") as f:
            rules = json.load(f).get("rules", [])
        return tuple(
            SemgrepRule(
                # The same id (insecure-eval-use) is in several languages: semgrep would keep one.
                body={**rule, "id": f"{file_language}__{rule['id'].replace('.', '_')}"},
                name=rule["id"],
                language=file_language,
                prescan=_prescan(rule.get("metadata", {}).get("prescan_regex") or ""),
            )
            for rule in rules
        )
