"""Scripted faults for FakeScmHost: wrong statuses, stalls, resets, short and slow bodies.

Each fault is registered for a path pattern (``re.search`` against the raw request path,
so anchor with ``^``/``$`` when needed) and is consumed by matching requests in order, one
step per request. Rules are checked in registration order; the first rule with a step left
that matches the request's path (and method, when given) supplies the step. A request that
no rule claims is served normally.
"""

from __future__ import annotations

import re
import threading
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Literal

from scmreader.testing.exceptions import FakeHostError
from scmreader.testing.messages import FakeResponse

FaultKind = Literal["pass", "respond", "delay", "reset", "truncate", "drip"]


@dataclass(frozen=True)
class FaultStep:
    """One scripted deviation for one request (what the server does instead of normal)."""

    kind: FaultKind
    response: FakeResponse | None = None
    seconds: float = 0.0
    nbytes: int = 0
    chunk: int = 1
    interval: float = 0.0
    #: ``drip`` only: drip the status line and headers too, not just the body.
    head: bool = False


@dataclass
class _Rule:
    pattern: re.Pattern[str]
    method: str | None
    steps: deque[FaultStep]
    forever: bool

    def matches(self, method: str, path: str) -> bool:
        if self.method is not None and self.method != method:
            return False
        return self.pattern.search(path) is not None


class Faults:
    """The fault script of one FakeScmHost (``host.faults``); thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[_Rule] = []

    # --- registering -------------------------------------------------------------------

    def statuses(
        self, path_regex: str, statuses: Sequence[int], *, method: str | None = None
    ) -> None:
        """Answer successive matching requests with these statuses; 200 means "serve normally".

        Non-200 entries get a small JSON body ``{"message": ..., "fault": "injected"}``
        (none for 204/304).
        """
        steps = []
        for status in statuses:
            _check_status(status)
            steps.append(FaultStep("pass") if status == 200 else _status_step(status, None, None))
        self._add(path_regex, method, steps, times=len(steps))

    def status(
        self,
        path_regex: str,
        status: int,
        *,
        headers: Mapping[str, str] | None = None,
        body: bytes | str | Any = None,
        times: int | None = 1,
        method: str | None = None,
    ) -> None:
        """Answer ``times`` matching requests (None: all) with ``status`` and ``headers``.

        ``body`` may be bytes, str, or any JSON-serialisable object; by default a small
        JSON message. Unlike :meth:`statuses`, a 200 here is answered by the fault itself
        (useful for a captive-portal HTML page).
        """
        _check_status(status)
        self._add(path_regex, method, [_status_step(status, headers, body)], times=times)

    def respond(
        self,
        path_regex: str,
        response: FakeResponse,
        *,
        times: int | None = 1,
        method: str | None = None,
    ) -> None:
        """Answer matching requests with ``response`` (give it a bytes or Path body)."""
        self._add(path_regex, method, [FaultStep("respond", response=response)], times=times)

    def delay(
        self, path_regex: str, seconds: float, *, times: int | None = 1, method: str | None = None
    ) -> None:
        """Read the request, stall ``seconds`` before the status line, then serve normally."""
        _check(seconds >= 0, f"delay seconds must be >= 0, got {seconds}")
        self._add(path_regex, method, [FaultStep("delay", seconds=seconds)], times=times)

    def reset_after(
        self,
        path_regex: str,
        nbytes: int,
        *,
        response: FakeResponse | None = None,
        times: int | None = 1,
        method: str | None = None,
    ) -> None:
        """Send headers and ``nbytes`` of the body, then reset the connection (RST).

        With ``response`` (any status, headers and body) that answer is cut instead of the
        route's normal one.
        """
        _check(nbytes >= 0, f"nbytes must be >= 0, got {nbytes}")
        step = FaultStep("reset", response=response, nbytes=nbytes)
        self._add(path_regex, method, [step], times=times)

    def truncate(
        self,
        path_regex: str,
        nbytes: int,
        *,
        response: FakeResponse | None = None,
        times: int | None = 1,
        method: str | None = None,
    ) -> None:
        """Declare the full length, send ``nbytes`` of the body, then close (FIN).

        With ``response``, that answer (status, headers, body) is the one cut short.
        """
        _check(nbytes >= 0, f"nbytes must be >= 0, got {nbytes}")
        step = FaultStep("truncate", response=response, nbytes=nbytes)
        self._add(path_regex, method, [step], times=times)

    def drip(
        self,
        path_regex: str,
        chunk: int = 1,
        interval: float = 0.3,
        *,
        head: bool = False,
        response: FakeResponse | None = None,
        times: int | None = 1,
        method: str | None = None,
    ) -> None:
        """Send the body ``chunk`` bytes at a time every ``interval`` s; the status line and
        headers go at once, or drip the same way too with ``head=True``. With
        ``response``, that answer (status, headers, body) is dripped instead."""
        _check(chunk >= 1, f"drip chunk must be >= 1 byte, got {chunk}")
        _check(interval >= 0, f"drip interval must be >= 0, got {interval}")
        step = FaultStep("drip", response=response, chunk=chunk, interval=interval, head=head)
        self._add(path_regex, method, [step], times=times)

    def clear(self) -> None:
        """Forget every fault, consumed or not."""
        with self._lock:
            self._rules.clear()

    def remaining(self, path_regex: str | None = None) -> int:
        """Steps not yet consumed (of rules registered with this exact pattern, if given).

        A rule registered with ``times=None`` counts as one.
        """
        with self._lock:
            rules = [r for r in self._rules if path_regex in (None, r.pattern.pattern)]
            return sum(len(r.steps) for r in rules)

    # --- consuming (called by the server) ----------------------------------------------

    def take(self, method: str, path: str) -> FaultStep | None:
        """Consume and return the step for this request, or None to serve it normally."""
        with self._lock:
            for rule in self._rules:
                if rule.steps and rule.matches(method, path):
                    step = rule.steps[0] if rule.forever else rule.steps.popleft()
                    if not rule.steps:
                        self._rules.remove(rule)
                    return step
        return None

    def _add(
        self, path_regex: str, method: str | None, steps: list[FaultStep], *, times: int | None
    ) -> None:
        try:
            pattern = re.compile(path_regex)
        except re.error as exc:
            raise FakeHostError(f"invalid fault path pattern {path_regex!r}: {exc}") from None
        _check(times is None or times >= 1, f"times must be >= 1 or None, got {times}")
        if len(steps) == 1 and times is not None:
            steps = steps * times
        rule = _Rule(pattern, method.upper() if method else None, deque(steps), times is None)
        if steps:
            with self._lock:
                self._rules.append(rule)


def _status_step(status: int, headers: Mapping[str, str] | None, body: Any) -> FaultStep:
    if body is None:
        if status in (204, 304) or status < 200:
            response = FakeResponse(status, b"", headers)
        else:
            phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else ""
            message = {"message": phrase or f"HTTP {status}", "fault": "injected"}
            response = FakeResponse.json(message, status, headers)
    elif isinstance(body, bytes | str):
        response = FakeResponse(status, body, headers)
    else:
        response = FakeResponse.json(body, status, headers)
    return FaultStep("respond", response=response)


def _check_status(status: int) -> None:
    _check(100 <= status <= 599, f"HTTP status must be between 100 and 599, got {status}")


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise FakeHostError(message)
