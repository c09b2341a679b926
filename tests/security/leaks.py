"""What the security suite's leak check looks for (used by its conftest and the scorecard)."""

from __future__ import annotations

from scmreader import redact as redact_module


def configured_secrets() -> set[str]:
    """Every form (raw, URL-encoded, base64) of every configured secret registered so far."""
    return set(redact_module._pinned)


def find_leaks(texts: list[str]) -> list[tuple[str, str]]:
    """(text, secret prefix) for every configured secret found in one of ``texts``."""
    return [
        (text[:200], secret[:6] + "...")
        for text in texts
        for secret in configured_secrets()
        if secret in text
    ]
