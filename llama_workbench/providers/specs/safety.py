"""Safety providers (shields)."""

from __future__ import annotations

from llama_workbench.core.datatypes import Api, ProviderSpec

_P = "llama_workbench.providers"

_SAFETY = (
    # (type, module, config class, description, extra, packages, needs inference)
    (
        "llama-guard",
        "llama_guard",
        "LlamaGuardConfig",
        "Llama Guard 3 (S1-S14) through the Inference API: any provider serving a guard model.",
        None,
        (),
        True,
    ),
    (
        "code-scanner",
        "code_scanner",
        "CodeScannerConfig",
        "Insecure code in messages, found by a static-analysis rule engine.",
        "safety",
        (),
        False,
    ),
    (
        "pii",
        "pii",
        "PIIShieldConfig",
        "Personal data (emails, phones, cards, IBANs, secrets), with optional redaction; no model.",
        "safety",
        (),
        False,
    ),
    (
        "regex",
        "regex",
        "RegexShieldConfig",
        "A configurable blocklist of words and regular expressions; no model.",
        "safety",
        (),
        False,
    ),
    (
        "prompt-guard",
        "prompt_guard",
        "PromptGuardConfig",
        "Prompt-injection and jailbreak detection by offline classifiers.",
        "safety",
        (),
        False,
    ),
    (
        "toxicity",
        "toxicity",
        "ToxicityConfig",
        "Offensive-language detection by an offline classifier.",
        "safety",
        (),
        False,
    ),
)


def safety_specs() -> list[ProviderSpec]:
    """Safety providers (shields)."""
    return [
        ProviderSpec(
            api=Api.safety,
            provider_type=f"inline::{name}",
            module=f"{_P}.inline.safety.{module}",
            config_class=f"{_P}.inline.safety.{module}.config:{config_class}",
            description=description,
            api_dependencies=(Api.inference, Api.models) if needs_inference else (),
            pip_packages=packages,
            pip_extra=extra,
        )
        for name, module, config_class, description, extra, packages, needs_inference in _SAFETY
    ]
