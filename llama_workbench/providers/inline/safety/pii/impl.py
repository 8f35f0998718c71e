"""inline::pii: finds emails, phone numbers, cards, IBANs and secrets in messages; no model."""

from __future__ import annotations

import base64
import binascii
import functools
import json
import math
import re
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from pydantic import ValidationError

from llama_workbench.apis.inference.models import Message
from llama_workbench.apis.safety.models import ModerationResult, RunShieldResponse, ViolationLevel
from llama_workbench.apis.shields.models import Shield
from llama_workbench.core.errors import BadRequestError, ConfigError
from llama_workbench.providers.inline.safety.common import (
    all_text,
    moderation,
    params_problems,
    verdict,
)
from llama_workbench.providers.inline.safety.pii.config import (
    ENTITIES,
    PIIShieldConfig,
    PIIShieldParams,
)


@functools.cache
def _libs() -> SimpleNamespace:
    """phonenumbers and python-stdnum, imported on the first scan (~40 ms kept out of start-up;
    `create` checks they are installed)."""
    import phonenumbers
    from stdnum import iban, luhn

    return SimpleNamespace(phonenumbers=phonenumbers, iban=iban, luhn=luhn)


PLACEHOLDERS = {
    "email": "[EMAIL]",
    "phone": "[PHONE]",
    "credit_card": "[CREDIT_CARD]",
    "iban": "[IBAN]",
    "secret": "[SECRET]",
}
# Where findings overlap, the more specific one wins: a card number also parses as a phone number.
_PRIORITY = {"secret": 0, "credit_card": 1, "iban": 2, "email": 3, "phone": 4}

_EMAIL = re.compile(
    r"(?<![\w.%+'-])(?P<local>[\w.%+-]+(?:'[\w.%+-]+)*)"  # o'brien, but not a quote around it
    r"@(?P<domain>(?:[^\W_](?:[\w-]{0,61}[^\W_])?\.)+[^\W\d_]{2,})"  # labels, a letters-only TLD
    r"(?![\w-]|:[\w~/])"  # `git@github.com:owner/repo` is an SSH remote, not an address
)
# RFC 2606 / 6761 reserved names: documentation placeholders, nobody's personal address.
_RESERVED_DOMAIN = re.compile(
    r"(?:^|\.)(?:example\.(?:com|net|org)|example|test|invalid|localhost)$"
)
# Cards are printed contiguous or in groups (4-4-4-4, 4-6-5, ...); single digits spaced out are not.
_CARD = re.compile(r"(?<![\w.-])(?:\d{13,19}|\d{4}(?:[ -]\d{3,6}){2,4})(?!\w|[.-]\d)")
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b")
# A bare digit run is only a phone number when the text around it says so.
_PHONE_CUE = re.compile(
    r"\b(?:phone|tel|telephone|call|mobile|cell|fax|whatsapp|sms|text me|reach me|contact|ph)\b",
    re.IGNORECASE,
)
# Well-known credential shapes; a `secret` group marks the value when the match has a label.
_SECRETS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(pattern))
    for name, pattern in (
        (
            "private_key",
            r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----[\s\S]*?"
            r"(?:-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----|\Z)",
        ),
        ("aws_access_key_id", r"\b(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}\b"),
        (
            "aws_secret_access_key",
            r"(?i:aws_?secret_?access_?key)\W{0,5}(?P<secret>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])",
        ),
        ("github_token", r"\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})\b"),
        ("slack_token", r"\bxox[abposr]-[A-Za-z0-9-]{10,}"),
        ("slack_webhook", r"https://hooks\.slack\.com/services/[A-Za-z0-9/_-]{20,}"),
        ("stripe_key", r"\b[rs]k_(?:live|test)_[A-Za-z0-9]{20,}\b"),
        ("openai_style_key", r"\bsk-(?:proj-|svcacct-|admin-|ant-)?[A-Za-z0-9_-]{20,}"),
        ("google_api_key", r"\bAIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])"),
        ("jwt", r"\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{10,}"),
    )
)
_TOKEN = re.compile(r"(?<![\w+/=@-])[A-Za-z0-9+/_=-]{20,}(?![\w+/=@-])")  # not an email's parts
_HEX_OR_UUID = re.compile(r"[0-9a-fA-F-]+")


@dataclass(frozen=True)
class Finding:
    """One piece of personal data in one text: where it is, and a masked form safe to show."""

    type: str
    start: int
    end: int
    masked: str
    detector: str | None = None

    def as_metadata(self, message_index: int | None = None) -> dict[str, Any]:
        data: dict[str, Any] = {"type": self.type, "start": self.start, "end": self.end}
        if message_index is not None:
            data["message_index"] = message_index
        data["masked"] = self.masked
        if self.detector:
            data["detector"] = self.detector
        return data


@dataclass(frozen=True)
class Settings:
    """Config and shield params merged: what one run checks and how it answers."""

    entities: tuple[str, ...]
    redact: bool
    level: ViolationLevel
    roles: list[str] | None
    region: str


def _tail(digits: str) -> str:
    return "****" + digits[-4:]


def _emails(text: str) -> Iterator[Finding]:
    for m in _EMAIL.finditer(text):
        local, domain = m["local"], m["domain"].lower()
        if _RESERVED_DOMAIN.search(domain) or local.startswith(".") or local.endswith("."):
            continue
        yield Finding("email", m.start(), m.end(), f"{local[0]}***@{domain}")


def _phones(text: str, region: str) -> Iterator[Finding]:
    # VALID, not STRICT_GROUPING: the latter misses common forms such as `+49 (0)151 2345 6789`.
    phonenumbers = _libs().phonenumbers
    for m in phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.VALID):
        before = text[m.start - 1 : m.start]
        if before and (before.isalnum() or before in "#/_-"):
            continue  # part of an identifier: `#4155552671`, `ORD-...`
        if m.raw_string.isdigit() and not _PHONE_CUE.search(text[max(0, m.start - 40) : m.start]):
            continue  # a plain number (`2147483647`) with nothing saying it is a phone
        yield Finding("phone", m.start, m.end, _tail(str(m.number.national_number)))


def _cards(text: str) -> Iterator[Finding]:
    for m in _CARD.finditer(text):
        digits = re.sub(r"\D", "", m[0])
        # Issuer ranges start with 2-6 (Mastercard 2/5, Amex/JCB/Diners 3, Visa 4, Discover 6);
        # requiring one drops most Luhn-valid accidents such as 13-digit millisecond timestamps.
        if 13 <= len(digits) <= 19 and digits[0] in "23456" and _libs().luhn.is_valid(digits):
            yield Finding("credit_card", m.start(), m.end(), _tail(digits))


def _ibans(text: str) -> Iterator[Finding]:
    for m in _IBAN.finditer(text):
        groups = m[0].split(" ")
        # The pattern may take a trailing word or number along ("... 3000 1234"): shorten until valid.
        for n in range(len(groups), 0, -1):
            candidate = " ".join(groups[:n])
            if _libs().iban.is_valid(candidate):
                compact = _libs().iban.compact(candidate)
                masked = compact[:2] + _tail(compact)
                yield Finding("iban", m.start(), m.start() + len(candidate), masked)
                break


def _is_jwt(token: str) -> bool:
    """A JWT's first part is base64url JSON naming its algorithm."""
    header = token.split(".", 1)[0]
    try:
        decoded = json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))
    except (binascii.Error, ValueError):
        return False
    return isinstance(decoded, dict) and "alg" in decoded


def _plausible(detector: str, value: str) -> bool:
    if detector == "jwt":
        return _is_jwt(value)
    if detector == "openai_style_key":  # `sk-` + prose such as `sk-learn-compatible-...` is not one
        body = value.removeprefix("sk-")
        return any(c.isdigit() for c in body) and any(c.isupper() for c in body)
    return True


def _entropy(token: str) -> float:
    counts = Counter(token)
    return -sum(n / len(token) * math.log2(n / len(token)) for n in counts.values())


def _random_tokens(text: str, threshold: float) -> Iterator[Finding]:
    for m in _TOKEN.finditer(text):
        token = m[0]
        if _HEX_OR_UUID.fullmatch(token):
            continue  # hashes, git SHAs and UUIDs are identifiers, not credentials
        mixed = any(c.isdigit() for c in token) and token.lower() != token != token.upper()
        if mixed and _entropy(token) >= threshold:
            yield Finding("secret", m.start(), m.end(), token[:4] + "****", "high_entropy")


def _secrets(text: str, threshold: float | None) -> Iterator[Finding]:
    for detector, pattern in _SECRETS:
        for m in pattern.finditer(text):
            group = "secret" if "secret" in pattern.groupindex else 0
            value = m[group]
            if _plausible(detector, value):
                # A PEM header says what the key is and gives nothing away; of a token, its prefix.
                shown = value.split("\n", 1)[0] if detector == "private_key" else value[:4]
                yield Finding("secret", m.start(group), m.end(group), shown + "****", detector)
    if threshold is not None:
        yield from _random_tokens(text, threshold)


def _without_overlaps(findings: list[Finding]) -> list[Finding]:
    """Keep the most specific finding where spans overlap; the result is in text order."""
    kept: list[Finding] = []
    for f in sorted(findings, key=lambda f: (_PRIORITY[f.type], f.start, -f.end)):
        if all(f.end <= k.start or f.start >= k.end for k in kept):
            kept.append(f)
    return sorted(kept, key=lambda f: f.start)


def redact(text: str, findings: list[Finding]) -> str:
    """`text` with each finding replaced by its placeholder (`[EMAIL]`, ...)."""
    for f in sorted(findings, key=lambda f: f.start, reverse=True):
        text = text[: f.start] + PLACEHOLDERS[f.type] + text[f.end :]
    return text


def _summary(types: Sequence[str]) -> str:
    return f"The message contains personal data ({', '.join(types)})."


class PIIShieldImpl:
    """The inline::pii safety provider: any shield id; params pick entities, redaction, level."""

    def __init__(self, config: PIIShieldConfig) -> None:
        self.config = config
        self._threshold = config.entropy_threshold if config.detect_high_entropy else None

    def find(
        self, text: str, entities: tuple[str, ...] = ENTITIES, region: str = ""
    ) -> list[Finding]:
        """Every finding of `entities` in `text`, overlaps resolved, in text order."""
        detectors: dict[str, Callable[[], Iterator[Finding]]] = {
            "email": lambda: _emails(text),
            "phone": lambda: _phones(text, self._scan_region(region)),
            "credit_card": lambda: _cards(text),
            "iban": lambda: _ibans(text),
            "secret": lambda: _secrets(text, self._threshold),
        }
        return _without_overlaps([f for e in entities for f in detectors[e]()])

    def settings(self, params: dict[str, Any] | None) -> Settings:
        """Config defaults overridden by shield params; wrong params are a BadRequestError."""
        try:
            given = PIIShieldParams.model_validate(params or {})
        except ValidationError as exc:
            raise BadRequestError(_invalid_params(exc)) from None
        # A shield's own region is checked now; the config's on the first scan (registering the
        # stack's shields at start-up imports nothing).
        region = (given.default_region or self.config.default_region).upper()
        if given.default_region and region not in _libs().phonenumbers.SUPPORTED_REGIONS:
            raise BadRequestError(f"default_region '{region}' is not a known region (e.g. US, GB).")
        return Settings(
            entities=tuple(e for e in ENTITIES if e in (given.entities or self.config.entities)),
            redact=self.config.redact if given.redact is None else given.redact,
            level=ViolationLevel(given.level or self.config.level),
            roles=self.config.roles if given.roles is None else given.roles,
            region=region,
        )

    def _scan_region(self, region: str) -> str:
        """The region to read phone numbers in: the config's is checked here, on first use."""
        if not region or region == self.config.default_region.upper():
            return self._default_region()
        return region

    def _default_region(self) -> str:
        """The config's region, checked against phonenumbers' list on first use (it is imported
        then): an unknown one is the config's error, named as such."""
        region = self.config.default_region
        if region not in _libs().phonenumbers.SUPPORTED_REGIONS:
            raise ConfigError(
                f"inline::pii config: default_region '{region}' is not a known region (e.g. US, GB)."
            )
        return region

    async def register_shield(self, shield: Shield) -> Shield:
        self.settings(shield.params)
        return shield

    async def run_shield(
        self, shield: Shield, messages: list[Message], params: dict[str, Any]
    ) -> RunShieldResponse:
        # The router merges the shield's params already; merging here too serves direct callers.
        settings = self.settings({**(shield.params or {}), **params})
        texts = all_text(messages)
        found: dict[int, list[Finding]] = {}
        for index, message in enumerate(messages):
            if settings.roles is None or message.role in settings.roles:
                found[index] = self.find(texts[index], settings.entities, settings.region)
        hits = [f.as_metadata(i) for i, fs in found.items() for f in fs]
        if not hits:
            return verdict(None)
        types = [t for t in ENTITIES if any(h["type"] == t for h in hits)]
        extra: dict[str, Any] = {}
        if settings.redact:
            # One text per message given, so index k is message k (unchecked roles come back as is).
            extra["redacted_messages"] = [redact(t, found.get(i, [])) for i, t in enumerate(texts)]
        return verdict(settings.level, _summary(types), entities=hits, types=types, **extra)

    async def run_moderation(self, shield: Shield, texts: list[str]) -> list[ModerationResult]:
        settings = self.settings(shield.params)
        results = []
        for text in texts:
            findings = self.find(text, settings.entities, settings.region)
            types = [t for t in settings.entities if any(f.type == t for f in findings)]
            results.append(
                moderation(
                    {f"pii/{t}": float(t in types) for t in settings.entities},
                    [f"pii/{t}" for t in types],
                    _summary(types) if types else None,
                    entities=[f.as_metadata() for f in findings],
                )
            )
        return results

    async def shutdown(self) -> None:
        return None


def _invalid_params(exc: ValidationError) -> str:
    problems = params_problems(exc)
    valid = ", ".join(PIIShieldParams.model_fields)
    return f"Invalid pii shield params: {problems}. Valid params: {valid}; entities: {', '.join(ENTITIES)}."
