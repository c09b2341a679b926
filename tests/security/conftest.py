"""Security suite fixtures: every test here fails when a configured secret leaks.

``no_secret_leaks`` (autouse) records every log record (root logger at DEBUG, so urllib3,
tenacity and scmreader are all seen) and the text of every scmreader error created during
the test, and fails the test when any configured secret (or a URL-encoded or base64 form of
it) appears in one. Helper modules of this folder are made importable (they are not test
modules: pytest does not collect them).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from scmreader.errors import ScmReaderError

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parent.parent / "readers"))

from leaks import find_leaks


class _Recorder(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.texts: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            text += " " + repr(record.exc_info[1])
        self.texts.append(text)


@pytest.fixture(autouse=True)
def no_secret_leaks(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Fail the test when a configured secret shows in a log record or an error's text."""
    recorder = _Recorder()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(recorder)
    root.setLevel(logging.DEBUG)
    errors: list[str] = []
    original = ScmReaderError.__init__

    def recording_init(self: ScmReaderError, *args: object, **kwargs: object) -> None:
        original(self, *args, **kwargs)
        errors.append(f"{self} {self!r}")

    monkeypatch.setattr(ScmReaderError, "__init__", recording_init)
    try:
        yield errors
    finally:
        root.removeHandler(recorder)
        root.setLevel(old_level)
    leaks = find_leaks(recorder.texts + errors)
    assert not leaks, f"configured secrets leaked into logs or error texts: {leaks}"
