"""inline::pii: real-looking personal data is found, look-alikes are not; redaction and params."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from llama_workbench import Stack
from llama_workbench.apis.inference.models import Message
from llama_workbench.apis.safety.api import SafetyProvider
from llama_workbench.apis.shields.models import Shield
from llama_workbench.core.datatypes import ProviderDeps
from llama_workbench.core.errors import BadRequestError, ConfigError, MissingDependencyError
from llama_workbench.providers.inline.safety.pii import create
from llama_workbench.providers.inline.safety.pii.config import PIIShieldConfig

MESSAGES = TypeAdapter(list[Message])

JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0"
    "IjoxNTE2MjM5MDIyfQ.SflKxwRJSFMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
)
ENV_FILE = """\
# .env committed by mistake
DEBUG=true
OPENAI_API_KEY=sk-proj-Ab3dEf9hIjK2lMnOpQ7rStUvWxYz0123456789abcdEFGH
AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE
AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
GITHUB_TOKEN=ghp_1a2B3c4D5e6F7g8H9i0J1k2L3m4N5o6P7q8R
"""
PEM = """\
-----BEGIN RSA PRIVATE KEY-----
MIIEpAIBAAKCAQEA1c7+9z5Pad7OejecsQ0bu3aumL8Qz7q4Z2mQm3S0Kk5H7w==
-----END RSA PRIVATE KEY-----"""

# (text, [(type, the exact text found)]): what a support inbox, a chat or a log really holds.
POSITIVES: list[tuple[str, list[tuple[str, str]]]] = [
    (
        "Hi team, please reach Dana at dana.whitfield@acmecorp.io about the renewal.",
        [("email", "dana.whitfield@acmecorp.io")],
    ),
    (
        "Thanks! — Priya | Customer Success | (415) 555-2671 | priya@northwind-traders.com",
        [("phone", "(415) 555-2671"), ("email", "priya@northwind-traders.com")],
    ),
    (
        "Best regards,\nJürgen Müller\nTel. +49 30 901820\nMobil: +49 (0)151 2345 6789",
        [("phone", "+49 30 901820"), ("phone", "+49 (0)151 2345 6789")],
    ),
    ("Call me tomorrow on 415.555.2671 after 10am", [("phone", "415.555.2671")]),
    ("Our London desk: +44 20 7946 0958", [("phone", "+44 20 7946 0958")]),
    ("Contact Sato-san: +81 3-1234-5678", [("phone", "+81 3-1234-5678")]),
    ("mobile +91 98765 43210, whatsapp preferred", [("phone", "+91 98765 43210")]),
    ("Paris office — tél. +33 1 42 68 53 00", [("phone", "+33 1 42 68 53 00")]),
    ("Call me: 4155552671", [("phone", "4155552671")]),
    ("fax (212) 555-0143 ext. 22", [("phone", "(212) 555-0143 ext. 22")]),
    (
        "Invoice 2024-117 — please transfer to IBAN DE89 3704 0044 0532 0130 00 (Commerzbank).",
        [("iban", "DE89 3704 0044 0532 0130 00")],
    ),
    ("Bank: GB29NWBK60161331926819, ref INV-2024-117", [("iban", "GB29NWBK60161331926819")]),
    (
        "Virement sur FR14 2004 1010 0505 0001 3M02 606 SVP",
        [("iban", "FR14 2004 1010 0505 0001 3M02 606")],
    ),
    ("sure, my card is 4111 1111 1111 1111 exp 04/27", [("credit_card", "4111 1111 1111 1111")]),
    ("use 5555-5555-5555-4444 for the order", [("credit_card", "5555-5555-5555-4444")]),
    ("amex 378282246310005 please", [("credit_card", "378282246310005")]),
    (
        ENV_FILE,
        [
            ("secret", "sk-proj-Ab3dEf9hIjK2lMnOpQ7rStUvWxYz0123456789abcdEFGH"),
            ("secret", "AKIAIOSFODNN7EXAMPLE"),
            ("secret", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
            ("secret", "ghp_1a2B3c4D5e6F7g8H9i0J1k2L3m4N5o6P7q8R"),
        ],
    ),
    (f"2024-05-01T12:00:03Z INFO auth: Authorization: Bearer {JWT}", [("secret", JWT)]),
    (
        "slack bot token xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
        [("secret", "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx")],
    ),
    (
        "maps key AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY in the frontend",
        [("secret", "AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY")],
    ),
    (f"here is the deploy key:\n{PEM}\nthanks", [("secret", PEM)]),
    (
        "token github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOP",
        [("secret", "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOP")],
    ),
    (
        "Stripe: sk_live_51H8xYzAbCdEfGhIjKlMnOpQr",
        [("secret", "sk_live_51H8xYzAbCdEfGhIjKlMnOpQr")],
    ),
    (
        "Send it to legal@müller-gmbh.de and cc tom.o'brien@firm.co.uk",
        [("email", "legal@müller-gmbh.de"), ("email", "tom.o'brien@firm.co.uk")],
    ),
]

# Text that looks like personal data and is not.
NEGATIVES = [
    "Your order #4155552671 has shipped; tracking 1Z999AA10123456784.",
    "Order number 20240115-0042, invoice INV-2024-000123, PO 4500012345",
    "ISBN 978-0-306-40615-7 and ISBN-10 0-306-40615-2",
    "Upgraded numpy from 1.26.4 to 2.1.3 (build 20240115.1)",
    "Meeting on 2024-01-15 at 14:30, follow-up 15/01/2024 9:00",
    "2024-05-01T12:00:03.123456Z epoch=1714564803 ms=1714564803123",
    "123 * 456 = 56088; 2^31 - 1 = 2147483647; 10**16 = 10000000000000000",
    "card on file: 4111 1111 1111 1112 (the checksum is wrong)",
    'password = os.environ["DB_PASSWORD"]\napi_key = os.getenv("OPENAI_API_KEY")',
    "request id 550e8400-e29b-41d4-a716-446655440000",
    "fixed in commit 3f786850e387550fdab836ed7e6dc881de23001b (short 3f78685)",
    # RFC 2606 names are documentation placeholders: nobody's address, so not flagged.
    "Write to jane.doe@example.com or admin@test for the demo",
    "git clone git@github.com:meta-llama/llama-stack.git",
    'pip install "transformers>=4.56" scikit-learn torch==2.3.1',
    "Use the sk-learn-compatible-estimator-wrapper interface",
    "IP 192.168.100.200 port 8080, MAC 00:1B:44:11:3A:B7",
    "CVE-2024-3094 affects xz 5.6.0 and 5.6.1",
    "The sum of 4 5 3 2 1 8 9 7 6 5 4 3 2 1 0 9 is 73",
    "sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "Total: $1,234,567.89 for 12345 units at 3.14159265 each",
    "Unit test: assert add(4111111111, 2) == 4111111113",
    "DE is Germany; the 2024 results: DE 89 points, FR 77 points",
    'decorators like @app.route("/x") and @pytest.mark.slow; npm i lodash@4.17.21',
    "The version string is v3.2.1-beta.4+build.20240115",
    "Flight LH 400 departs 10:45, seat 23A, booking ref ABC123",
    "The header is Authorization: Bearer <token>; see RFC 6750",
]


def messages(*texts: str, role: str = "user") -> list[Message]:
    return MESSAGES.validate_python([{"role": role, "content": t} for t in texts])


def shield(**params: Any) -> Shield:
    return Shield(identifier="pii", provider_id="pii", provider_resource_id="pii", params=params)


async def pii_provider(tmp_path: Path, **config: Any) -> Any:
    deps = ProviderDeps("pii", {}, None, tmp_path)  # type: ignore[arg-type]
    return await create(PIIShieldConfig(**config), deps)


@pytest.fixture
async def pii(tmp_path: Path) -> Any:
    return await pii_provider(tmp_path)


async def found(pii: Any, text: str, **params: Any) -> list[tuple[str, str]]:
    answer = await pii.run_shield(shield(), messages(text), params)
    if answer.violation is None:
        return []
    return [(e["type"], text[e["start"] : e["end"]]) for e in answer.violation.metadata["entities"]]


@pytest.mark.parametrize(("text", "expected"), POSITIVES, ids=[t[:30] for t, _ in POSITIVES])
async def test_finds_personal_data(pii: Any, text: str, expected: list[tuple[str, str]]) -> None:
    assert await found(pii, text) == expected


@pytest.mark.parametrize("text", NEGATIVES, ids=[t[:30] for t in NEGATIVES])
async def test_ignores_look_alikes(pii: Any, text: str) -> None:
    assert await found(pii, text) == []


async def test_violation_shape(pii: Any) -> None:
    text = "Mail dana@acmecorp.io, card 4111-1111-1111-1111."
    violation = (await pii.run_shield(shield(), messages("hello", text), {})).violation
    assert violation.violation_level == "error"
    assert violation.user_message == "The message contains personal data (email, credit_card)."
    assert violation.metadata == {
        "entities": [
            {
                "type": "email",
                "start": 5,
                "end": 21,
                "message_index": 1,
                "masked": "d***@acmecorp.io",
            },
            {
                "type": "credit_card",
                "start": 28,
                "end": 47,
                "message_index": 1,
                "masked": "****1111",
            },
        ],
        "types": ["email", "credit_card"],
    }
    assert "redacted_messages" not in violation.metadata


async def test_metadata_never_holds_the_secret(pii: Any) -> None:
    violation = (await pii.run_shield(shield(), messages(ENV_FILE, PEM), {})).violation
    dumped = json.dumps(violation.metadata)
    for value in ("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI", "ghp_1a2B3c4D5e6F", "MIIEpAIBAAKC"):
        assert value not in dumped
    assert violation.metadata["entities"][-1]["masked"] == "-----BEGIN RSA PRIVATE KEY-----****"
    detectors = [e["detector"] for e in violation.metadata["entities"]]
    assert detectors == [
        "openai_style_key",
        "aws_access_key_id",
        "aws_secret_access_key",
        "github_token",
        "private_key",
    ]


async def test_redaction(pii: Any) -> None:
    convo = messages(
        "Reach me at dana@acmecorp.io or +44 20 7946 0958.",
        "Pay to DE89 3704 0044 0532 0130 00, card 4111 1111 1111 1111, key AKIAIOSFODNN7EXAMPLE",
        "Nothing here.",
    )
    violation = (await pii.run_shield(shield(redact=True), convo, {})).violation
    assert violation.metadata["redacted_messages"] == [
        "Reach me at [EMAIL] or [PHONE].",
        "Pay to [IBAN], card [CREDIT_CARD], key [SECRET]",
        "Nothing here.",
    ]


async def test_redaction_keeps_unchecked_roles_as_they_are(tmp_path: Path) -> None:
    pii = await pii_provider(tmp_path, redact=True, roles=["user"])
    convo = MESSAGES.validate_python(
        [
            {"role": "system", "content": "Escalations go to ops@acmecorp.io."},
            {"role": "user", "content": "I am bob@corp.io"},
        ]
    )
    violation = (await pii.run_shield(shield(), convo, {})).violation
    assert [e["message_index"] for e in violation.metadata["entities"]] == [1]
    assert violation.metadata["redacted_messages"] == [
        "Escalations go to ops@acmecorp.io.",
        "I am [EMAIL]",
    ]


async def test_params_override_config(pii: Any) -> None:
    text = "bob@corp.io, 4111 1111 1111 1111"
    assert await found(pii, text, entities=["credit_card"]) == [
        ("credit_card", "4111 1111 1111 1111")
    ]
    assert await found(pii, text, entities="email") == [("email", "bob@corp.io")]
    answer = await pii.run_shield(shield(level="warn"), messages(text), {"level": "warn"})
    assert answer.violation.violation_level == "warn"
    as_assistant = messages(text, role="assistant")
    assert (await pii.run_shield(shield(), as_assistant, {"roles": ["user"]})).violation is None
    assert (await pii.run_shield(shield(), as_assistant, {"roles": "assistant"})).violation


async def test_default_region_reads_national_numbers(pii: Any) -> None:
    text = "mobile 07911 123456, ring any time"
    assert await found(pii, text) == []  # not a US number
    assert await found(pii, text, default_region="gb") == [("phone", "07911 123456")]


async def test_config_with_fewer_entities(tmp_path: Path) -> None:
    pii = await pii_provider(tmp_path, entities=["secret"], level="warn")
    assert await found(pii, "bob@corp.io") == []
    violation = (await pii.run_shield(shield(), messages(ENV_FILE), {})).violation
    assert violation.violation_level == "warn"
    assert violation.metadata["types"] == ["secret"]


async def test_high_entropy_tokens_are_opt_in(tmp_path: Path) -> None:
    text = (
        "db_pass: Zq8vN3xR7tL2mK9pW4sB6yH1cF5gJ0dQ, class ThisIsAVeryLongCamelCaseIdentifier2,"
        " mail Kp3xLm9QwErTy7UiOpAs2DfGh@corp.io"
    )
    email = ("email", "Kp3xLm9QwErTy7UiOpAs2DfGh@corp.io")
    assert await found(await pii_provider(tmp_path), text) == [email]
    pii = await pii_provider(tmp_path, detect_high_entropy=True)
    assert await found(pii, text) == [
        ("secret", "Zq8vN3xR7tL2mK9pW4sB6yH1cF5gJ0dQ"),
        email,
    ]
    for text in NEGATIVES:  # hashes, UUIDs and versions stay out even so
        assert await found(pii, text) == [], text


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"entities": ["email", "ssn"]}, ["ssn", "'email'", "'secret'"]),
        ({"entities": []}, ["entities"]),
        ({"level": "block"}, ["level", "'warn'"]),
        ({"roles": ["robot"]}, ["robot", "assistant"]),
        ({"redact": "maybe"}, ["redact"]),
        ({"default_region": "XX"}, ["XX"]),
        ({"entity": ["email"]}, ["entity", "Valid params: entities, redact"]),
    ],
)
async def test_register_rejects_bad_params(
    pii: Any, params: dict[str, Any], words: list[str]
) -> None:
    with pytest.raises(BadRequestError) as caught:
        await pii.register_shield(shield(**params))
    for word in words:
        assert word in caught.value.message
    with pytest.raises(BadRequestError):
        await pii.run_shield(shield(), messages("hi"), params)


async def test_register_accepts_good_params(pii: Any) -> None:
    good = shield(entities=["email", "phone"], redact=True, level="warn", roles=["user"])
    assert await pii.register_shield(good) == good
    assert await pii.register_shield(shield()) == shield()


async def test_bad_config(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="email"):
        PIIShieldConfig(entities=["passport"])
    with pytest.raises(ValidationError, match="unknown roles"):
        PIIShieldConfig(roles=["robot"])
    with pytest.raises(ValidationError):
        PIIShieldConfig.model_validate({"colour": "red"})
    # phonenumbers is imported on the first scan, so an unknown region is found then: as the
    # config's error, before any message is checked.
    unknown = await pii_provider(tmp_path, default_region="zz")
    assert await unknown.register_shield(shield()) == shield()  # start-up registers shields
    with pytest.raises(ConfigError, match="default_region 'ZZ'"):
        await unknown.run_shield(shield(), messages("call 020 7946 0958"), {})


async def test_missing_packages_fail_at_creation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_find = importlib.util.find_spec
    for module, package in {"phonenumbers": "phonenumbers", "stdnum": "python-stdnum"}.items():
        monkeypatch.setattr(
            importlib.util, "find_spec", lambda n, m=module, f=real_find: None if n == m else f(n)
        )
        with pytest.raises(MissingDependencyError, match=r"llama-workbench\[safety\]") as caught:
            await pii_provider(tmp_path)
        assert caught.value.package == package
        monkeypatch.undo()


async def test_run_moderation(pii: Any) -> None:
    texts = ["call +44 20 7946 0958 or mail bob@corp.io", "nothing to see"]
    flagged, clean = await pii.run_moderation(shield(), texts)
    names = ["pii/email", "pii/phone", "pii/credit_card", "pii/iban", "pii/secret"]
    assert flagged.flagged and not clean.flagged
    assert sorted(flagged.categories) == sorted(names) == sorted(clean.categories)
    assert {n for n, hit in flagged.categories.items() if hit} == {"pii/email", "pii/phone"}
    assert flagged.category_scores == {n: float(n in ("pii/email", "pii/phone")) for n in names}
    assert set(clean.category_scores.values()) == {1.0} and "scores" not in clean.metadata
    assert flagged.category_applied_input_types == {"pii/email": ["text"], "pii/phone": ["text"]}
    assert flagged.user_message == "The message contains personal data (email, phone)."
    assert clean.user_message is None
    assert [e["type"] for e in flagged.metadata["entities"]] == ["phone", "email"]
    only_cards = await pii.run_moderation(shield(entities=["credit_card"]), texts[:1])
    assert only_cards[0].categories == {"pii/credit_card": False}


async def test_is_a_safety_provider(pii: Any) -> None:
    assert isinstance(pii, SafetyProvider)
    await pii.shutdown()


def test_in_a_stack(tmp_path: Path) -> None:
    config = {
        "data_dir": str(tmp_path),
        "apis": ["safety"],
        "providers": {"safety": [{"provider_id": "pii", "provider_type": "inline::pii"}]},
        "registered_resources": {
            "shields": [{"shield_id": "no-pii", "params": {"redact": True, "entities": ["email"]}}]
        },
    }
    text = [{"role": "user", "content": "I'm bob@corp.io, 415.555.2671"}]
    with Stack.from_config(config) as stack:
        violation = stack.safety.run_shield(shield_id="no-pii", messages=text).violation
        assert violation.metadata["redacted_messages"] == ["I'm [EMAIL], 415.555.2671"]
        # Request params are merged over the shield's.
        answer = stack.safety.run_shield(
            shield_id="no-pii", messages=text, params={"redact": False}
        )
        assert "redacted_messages" not in answer.violation.metadata
        moderated = stack.safety.run_moderation(input="bob@corp.io", model="no-pii")
        assert moderated.results[0].categories == {"pii/email": True}
