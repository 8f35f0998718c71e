"""inline::code-scanner: flags insecure code in messages, by CodeShield's rules (regex + semgrep)."""

from __future__ import annotations

import asyncio
import builtins
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from llama_workbench.apis.inference.models import Message, content_text
from llama_workbench.apis.safety.models import ModerationResult, RunShieldResponse, ViolationLevel
from llama_workbench.apis.shields.models import Shield
from llama_workbench.core.errors import BadRequestError
from llama_workbench.providers.inline.safety.code_scanner.config import (
    SEVERITY_RANK,
    CodeScannerConfig,
    CodeScannerParams,
)
from llama_workbench.providers.inline.safety.code_scanner.extract import CodeBlock, extract
from llama_workbench.providers.inline.safety.code_scanner.scanner import Finding, Scanner
from llama_workbench.providers.inline.safety.common import moderation, verdict

CATEGORY = "code/insecure"
SHOWN_IN_MESSAGE = 3


@dataclass(frozen=True)
class Settings:
    """Config and shield params merged: what one run checks and how it answers."""

    min_severity: str
    level: ViolationLevel
    roles: list[str] | None
    scope: str


def _user_message(hits: list[Finding]) -> str:
    shown = ", ".join(f"{f.rule} (line {f.line})" for f in hits[:SHOWN_IN_MESSAGE])
    more = len(hits) - SHOWN_IN_MESSAGE
    return f"Insecure code: {shown}" + (f" and {more} more" if more > 0 else "")


class CodeScannerImpl:
    """The inline::code-scanner safety provider: any shield id; params tune the threshold."""

    def __init__(self, config: CodeScannerConfig, scanner: Scanner) -> None:
        self.config = config
        self.scanner = scanner

    def settings(self, params: dict[str, Any] | None) -> Settings:
        """Config defaults overridden by shield params; wrong params are a BadRequestError."""
        try:
            given = CodeScannerParams.model_validate(params or {})
        except ValidationError as exc:
            errors = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'params'}: {e['msg']}"
                for e in exc.errors()
            )
            raise BadRequestError(f"Invalid code-scanner shield params: {errors}") from None
        return Settings(
            min_severity=given.min_severity or self.config.min_severity,
            level=ViolationLevel(given.level or self.config.level),
            roles=self.config.roles if given.roles is None else given.roles,
            scope=given.scope,
        )

    async def register_shield(self, shield: Shield) -> Shield:
        self.settings(shield.params)
        return shield

    async def scan(self, blocks: builtins.list[CodeBlock]) -> builtins.list[Finding]:
        """Every finding in `blocks`; semgrep runs in a worker thread, off the event loop."""
        if not blocks:
            return []
        return await asyncio.to_thread(self.scanner.scan, blocks)

    async def run_shield(
        self, shield: Shield, messages: builtins.list[Message], params: dict[str, Any]
    ) -> RunShieldResponse:
        (result,) = await self.run_shield_batch(shield, [messages], params)
        return result

    async def run_shield_batch(
        self,
        shield: Shield,
        conversations: builtins.list[builtins.list[Message]],
        params: dict[str, Any],
    ) -> builtins.list[RunShieldResponse]:
        """Every conversation's code in one scan: semgrep starts once, not once per message."""
        settings = self.settings(params)
        texts: builtins.list[tuple[int, str]] = []
        owners: builtins.list[tuple[int, int]] = []  # scan index -> (conversation, message)
        for c, messages in enumerate(conversations):
            chosen = [
                (index, content_text(m.content))
                for index, m in enumerate(messages)
                if settings.roles is None or m.role in settings.roles
            ]
            for index, text in chosen[-1:] if settings.scope == "last" else chosen:
                texts.append((len(owners), text))
                owners.append((c, index))
        findings = await self.scan(extract(texts, self.config.scan_unfenced))
        by_conversation: builtins.list[builtins.list[Finding]] = [[] for _ in conversations]
        for f in self._at_least(findings, settings.min_severity):
            by_conversation[owners[f.block.message_index][0]].append(f)
        return [self._verdict(hits, owners, settings) for hits in by_conversation]

    @staticmethod
    def _verdict(
        hits: builtins.list[Finding],
        owners: builtins.list[tuple[int, int]],
        settings: Settings,
    ) -> RunShieldResponse:
        if not hits:
            return verdict(None)
        found = []
        for f in hits:
            data = f.as_metadata()
            data["message_index"] = owners[f.block.message_index][1]
            found.append(data)
        return verdict(
            settings.level,
            _user_message(hits),
            violation_type=",".join(dict.fromkeys(f.rule for f in hits)),
            findings=found,
        )

    async def run_moderation(
        self, shield: Shield, texts: builtins.list[str]
    ) -> builtins.list[ModerationResult]:
        settings = self.settings(shield.params)
        findings = await self.scan(extract(enumerate(texts), self.config.scan_unfenced))
        return [
            self._moderation([f for f in findings if f.block.message_index == i], settings)
            for i in range(len(texts))
        ]

    def _moderation(self, findings: builtins.list[Finding], settings: Settings) -> ModerationResult:
        hits = self._at_least(findings, settings.min_severity)
        scores = {CATEGORY: 1.0 if hits else 0.0}
        scores |= {
            f"{CATEGORY}/{severity}": float(any(f.severity == severity for f in findings))
            for severity in SEVERITY_RANK
        }
        flagged = [CATEGORY] if hits else []
        flagged += sorted({f"{CATEGORY}/{f.severity}" for f in hits})
        return moderation(
            scores,
            flagged,
            _user_message(hits) if hits else None,
            findings=[f.as_metadata() for f in findings],
        )

    @staticmethod
    def _at_least(findings: builtins.list[Finding], severity: str) -> builtins.list[Finding]:
        return [f for f in findings if SEVERITY_RANK[f.severity] >= SEVERITY_RANK[severity]]

    async def shutdown(self) -> None:
        return None
