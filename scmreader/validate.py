"""Checking app-config files before they ship (``scmreader config validate``).

Every check runs the library's own code: each ``integrations.<provider>`` entry goes
through that provider's config reader (its :class:`~scmreader.integrations.IntegrationType`
``read_configs``, one entry at a time so that one bad entry does not hide the next), each
``backend.reading.allow`` entry through :func:`scmreader.readers.fetch.parse_allow_entry`,
and missing ``${VAR}`` values come from :func:`scmreader.config.load_config`'s
``problems=``. Every :class:`~scmreader.errors.ConfigError` is collected, not raised.

On top of that, keys that the provider's reader does not read are warnings, and so are
deprecated ones: each provider module lists them next to its reader as ``KNOWN_KEYS`` and
``DEPRECATED_KEYS`` (see :func:`known_keys`). ``online=True`` asks each host whether its
credentials work.

Library use::

    report = validate_files(["app-config.yaml", "app-config.production.yaml"])
    if not report.valid:
        print(format_report(report, "text"))
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from scmreader.errors import ConfigError, ScmReaderError
from scmreader.integrations._keys import (
    REMOVED_PROVIDERS,
    deprecated_keys,
    known_keys,
)
from scmreader.integrations._keys import provider_attribute as _provider_attribute

if TYPE_CHECKING:
    from scmreader.config import Config
    from scmreader.http import HttpClient
    from scmreader.integrations.base import IntegrationType, ScmIntegration

Severity = Literal["error", "warning", "notice"]
FORMATS = ("text", "json", "github")

ALLOW_KEYS = frozenset({"host", "paths"})


@dataclass(frozen=True)
class Problem:
    """One finding: where (file, line, key path), how bad, and what to do."""

    severity: Severity
    message: str
    key_path: str | None = None
    file: str | None = None
    line: int | None = None

    @classmethod
    def from_error(cls, exc: ConfigError, severity: Severity = "error") -> Problem:
        """The problem a ConfigError describes."""
        return cls(severity, exc.message, exc.key_path, exc.file, exc.line)

    @property
    def location(self) -> str:
        """``file:line``, ``file``, or ``''`` when the value did not come from a file."""
        if self.file and self.line:
            return f"{self.file}:{self.line}"
        return self.file or ""

    def __str__(self) -> str:
        parts = [p for p in (self.location, self.severity, self.key_path) if p]
        return ": ".join([*parts, self.message])


@dataclass
class ValidationReport:
    """Everything found in one set of files. ``strict`` turns warnings into errors."""

    files: list[str]
    problems: list[Problem] = field(default_factory=list)
    strict: bool = False
    checked: int = 0

    @property
    def errors(self) -> list[Problem]:
        """Problems that make the config invalid."""
        bad = ("error", "warning") if self.strict else ("error",)
        return [p for p in self.problems if p.severity in bad]

    @property
    def warnings(self) -> list[Problem]:
        """Problems that do not (unless ``strict``)."""
        return [] if self.strict else [p for p in self.problems if p.severity == "warning"]

    @property
    def valid(self) -> bool:
        """No errors (and no warnings when strict)."""
        return not self.errors


# --- loading ------------------------------------------------------------------------


def validate_files(
    files: Sequence[str | os.PathLike[str]],
    *,
    env: Mapping[str, str] | None = None,
    strict: bool = False,
    online: bool = False,
    http: HttpClient | None = None,
) -> ValidationReport:
    """Load and merge ``files`` as :func:`~scmreader.config.load_config` does, then check them.

    A file that cannot be read or parsed is reported (every such file) and stops the
    checks, since the merged result would be wrong.
    """
    from scmreader.config import load_config

    names = [os.fsdecode(f) for f in files]
    report = ValidationReport(files=names, strict=strict)
    for name in names:
        try:
            load_config(name, env=env, problems=[], check_keys=False)
        except ConfigError as exc:
            report.problems.append(Problem.from_error(exc))
    if report.problems:
        return report
    substitution: list[ConfigError] = []
    try:
        config = load_config(*names, env=env, problems=substitution, check_keys=False)
    except ConfigError as exc:
        report.problems.append(Problem.from_error(exc))
        return report
    report.problems.extend(Problem.from_error(e) for e in substitution)
    report.checked, found = check_config(config)
    report.problems.extend(found)
    if online:
        report.problems.extend(check_credentials_online(config, http=http))
    report.problems = sort_problems(report.problems, names)
    return report


def sort_problems(problems: Iterable[Problem], files: Sequence[str]) -> list[Problem]:
    """Top to bottom, file by file in command-line order; problems without a file last."""
    order = {name: i for i, name in enumerate(files)}

    def key(p: Problem) -> tuple[int, int]:
        return (order.get(p.file or "", len(order)), p.line or 0)

    unique = list(dict.fromkeys(problems))
    return sorted(unique, key=key)


# --- the checks ---------------------------------------------------------------------


def check_config(config: Config) -> tuple[int, list[Problem]]:
    """Check every integration and allow-list entry of ``config``.

    Returns the number of entries checked and the problems found.
    """
    problems: list[Problem] = []
    checked = _check_integrations(config, problems)
    checked += _check_allow_list(config, problems)
    checked += _check_cache(config, problems)
    checked += _check_http(config, problems)
    return checked, problems


def _record(problems: list[Problem], exc: ConfigError, severity: Severity = "error") -> None:
    problems.append(Problem.from_error(exc, severity))


def _check_integrations(config: Config, problems: list[Problem]) -> int:
    from scmreader.integrations import integration_types, provider_entries

    try:
        block = config.get_optional_config("integrations")
    except ConfigError as exc:
        _record(problems, exc)
        return 0
    if block is None:
        return 0
    kinds = integration_types()
    by_key = {kind.key: kind for kind in kinds}
    provider_keys = block.keys()  # Config is not iterable
    for key in provider_keys:
        if key in by_key:
            continue
        if key in REMOVED_PROVIDERS:
            _record(problems, block.error(key, REMOVED_PROVIDERS[key]), "warning")
        else:
            hint = _did_you_mean(key, by_key)
            _record(
                problems,
                block.error(key, f"unknown integration provider '{key}'{hint}; it is ignored"),
                "warning",
            )
    checked = 0
    for kind in kinds:
        try:
            entries = provider_entries(config, kind.key)
        except ConfigError as exc:
            _record(problems, exc)
            continue
        if not entries:
            continue
        checked += len(entries)
        failed = False
        for entry in entries:
            errors_before = len(problems)
            entry_failed = False
            for error in entry_errors(entry, _reader_of(kind)):
                _record(problems, error)
                entry_failed = failed = True
            if not entry_failed:
                _check_entry_warnings(kind, entry, problems)
            bad_paths = {p.key_path for p in problems[errors_before:]}
            _check_keys(kind, entry, problems, bad_paths)
        if not failed and len(entries) > 1:
            try:  # rules across entries (e.g. duplicate hosts), if the provider has any
                kind.read_configs(entries)
            except ConfigError as exc:
                _record(problems, exc)
    return checked


def _check_entry_warnings(kind: IntegrationType, entry: Config, problems: list[Problem]) -> None:
    """Warnings a provider raises about an entry that reads (its ``ENTRY_WARNINGS``)."""
    warn = _provider_attribute(kind, "ENTRY_WARNINGS")
    if not callable(warn):
        return
    for key, message in warn(entry):
        _record(problems, entry.error(key, message), "warning")


#: What is tried, in turn, on a key a reader rejected so that it reads on and reports the
#: entry's next problem: remove the key, then stand-in values of the usual kinds.
_STAND_INS: tuple[object, ...] = (
    None,
    "1",
    "placeholder.invalid",
    "https://placeholder.invalid",
    1,
    True,
    [],
)
_MAX_ROUNDS = 40


def entry_errors(entry: Config, read: Callable[[Config], object]) -> list[ConfigError]:
    """Every problem ``read`` (a provider's or the allow list's reader) finds in ``entry``.

    Readers stop at the first problem. After each one, the offending key is removed from a
    copy of the entry (or, when it is missing or removing it does not help, given stand-in
    values of the usual kinds) and the copy is read again, until it reads or nothing more
    can be learnt. Each key path is reported once, with its file and line in ``entry``.
    """
    from scmreader.config import Config

    try:
        read(entry)
        return []
    except ConfigError as exc:
        first = exc
    except ScmReaderError as exc:  # a reader that words a config problem otherwise
        return [entry.error(None, str(exc))]
    errors = [first]
    seen = {first.key_path}
    data = entry.as_dict()
    attempts: dict[str, int] = {}
    relative = _relative_key(first.key_path, entry.prefix)
    for _ in range(_MAX_ROUNDS):
        if not relative or not _stand_in(data, relative, attempts):
            break
        try:
            read(Config.from_dict(data))
            break
        except ConfigError as exc:
            relative = exc.key_path or ""
            located = entry.error(relative or None, exc.message)
            if located.key_path not in seen:
                seen.add(located.key_path)
                errors.append(located)
        except ScmReaderError:
            break
    return errors


def _reader_of(kind: IntegrationType) -> Callable[[Config], object]:
    def read(entry: Config) -> object:
        return kind.read_configs([entry])

    return read


def _relative_key(key_path: str | None, prefix: str) -> str:
    if not key_path or not key_path.startswith(prefix + ".") or not prefix:
        return ""
    return key_path[len(prefix) + 1 :]


def _stand_in(data: dict[str, Any], relative: str, attempts: dict[str, int]) -> bool:
    """Apply the next of :data:`_STAND_INS` to ``relative`` in ``data``; False when they
    are used up or the path cannot be walked."""
    import re

    parts: list[str | int] = []
    for segment in relative.split("."):
        name, _, rest = segment.partition("[")
        parts.append(name)
        parts.extend(int(i) for i in re.findall(r"[0-9]+", "[" + rest if rest else ""))
    parent: Any = data
    for part in parts[:-1]:
        try:
            parent = parent[part]
        except (KeyError, IndexError, TypeError):
            return False
    last = parts[-1]
    if not isinstance(parent, dict) or not isinstance(last, str):
        return False
    while (n := attempts.get(relative, 0)) < len(_STAND_INS):
        attempts[relative] = n + 1
        value = _STAND_INS[n]
        if value is None:
            if last in parent:
                del parent[last]
                return True
            continue
        parent[last] = value
        return True
    return False


def _check_keys(
    kind: IntegrationType, entry: Config, problems: list[Problem], bad_paths: set[str | None]
) -> None:
    known = known_keys(kind)
    if known is None:
        return
    deprecated = deprecated_keys(kind)
    for name, message in deprecated.items():
        if entry.has(name) and entry.key_path(name) not in bad_paths:
            _record(problems, entry.error(name, f"'{name}' {message}"), "warning")
    _unknown_keys(entry, "", known | frozenset(deprecated), problems)


def _unknown_keys(
    view: Config, prefix: str, known: frozenset[str], problems: list[Problem]
) -> None:
    from scmreader.config._keys import keys_below

    problems.extend(Problem.from_error(e, "warning") for e in keys_below(view, prefix, known))


def _did_you_mean(key: str, names: Iterable[str]) -> str:
    from scmreader.config._keys import did_you_mean

    return did_you_mean(key, names)


def _check_allow_list(config: Config, problems: list[Problem]) -> int:
    from scmreader.readers.fetch import parse_allow_entry

    try:
        entries = config.get_optional_config_array("backend.reading.allow") or []
    except ConfigError as exc:
        _record(problems, exc)
        return 0
    for entry in entries:
        for error in entry_errors(entry, parse_allow_entry):
            _record(problems, error)
        _unknown_keys(entry, "", ALLOW_KEYS, problems)
    return len(entries)


def _check_cache(config: Config, problems: list[Problem]) -> int:
    """The ``scmreader.cache`` block, read by the same code the library uses (no I/O)."""
    from scmreader.cache import cache_from_config, max_body_from_config

    try:
        if cache_from_config(config) is None:
            return 0
        max_body_from_config(config)
    except ConfigError as exc:
        _record(problems, exc)
    return 1


def _check_http(config: Config, problems: list[Problem]) -> int:
    """The ``scmreader.http`` and ``scmreader.hosts`` blocks, read by the library's code."""
    from scmreader._client_factory import HTTP_KEY, http_settings_from_config
    from scmreader.http._hosts_config import HOSTS_KEY, host_limits_from_config

    checked = 0
    for key, read in ((HTTP_KEY, http_settings_from_config), (HOSTS_KEY, host_limits_from_config)):
        if config.get_optional(key) is None:
            continue
        checked += 1
        try:
            read(config)
        except ConfigError as exc:
            _record(problems, exc)
    return checked


# --- online -------------------------------------------------------------------------

#: provider key -> check(entry, integration, http) -> problems. Providers without one are
#: only checked offline.
OnlineCheck = Callable[["Config", "ScmIntegration", "HttpClient"], list[Problem]]


def check_credentials_online(config: Config, *, http: HttpClient | None = None) -> list[Problem]:
    """Ask each host whether the configured credentials work; never shows a secret.

    Entries that fail the offline checks are skipped. Accepted credentials give a
    ``notice``, rejected ones an ``error``, hosts that cannot be asked a ``warning``.
    """
    from scmreader.integrations import integration_types, provider_entries

    problems: list[Problem] = []
    own_http = http is None
    if http is None:
        from scmreader.http import HttpClient, HttpSettings

        http = HttpClient(HttpSettings(max_attempts=2, request_deadline=30.0))
    try:
        for kind in integration_types():
            check = ONLINE_CHECKS.get(kind.key)
            if check is None:
                continue
            try:
                entries = provider_entries(config, kind.key) or []
            except ConfigError:
                continue
            for entry in entries:
                try:
                    integrations = kind.read_configs([entry])
                except ScmReaderError:
                    continue  # already reported by the offline checks
                if integrations:
                    problems.extend(check(entry, integrations[0], http))
    finally:
        if own_http:
            http.close()
    return problems


def _github_online(entry: Config, integration: ScmIntegration, http: HttpClient) -> list[Problem]:
    from scmreader.http import credentials_for, parse_json

    config: Any = integration.config
    found: list[Problem] = []
    has_credentials = bool(config.token or config.apps)
    if not has_credentials:
        return found
    api = config.api_base_url
    if not api:
        return [
            _problem(
                entry,
                None,
                "warning",
                "cannot check the credentials online: the entry has no apiBaseUrl",
            )
        ]
    if config.token:
        url = f"{api}/user"
        headers = {"Accept": "application/vnd.github+json"}
        auth = credentials_for(url, {"Authorization": f"Bearer {config.token}"})
        try:
            response = http.get(url, headers=headers, credentials=auth)
            status = response.status_code
            body = parse_json(response) if status == 200 else None
            response.close()
        except (ScmReaderError, ValueError) as exc:
            found.append(_unreachable(entry, "token", url, exc))
        else:
            login = body.get("login") if isinstance(body, dict) else None
            if status == 200:
                who = f" (user '{login}')" if isinstance(login, str) else ""
                found.append(_problem(entry, "token", "notice", f"token accepted by {api}{who}"))
            elif status == 401:
                found.append(
                    _problem(
                        entry,
                        "token",
                        "error",
                        f"token rejected by {url} (401); "
                        "create a new token and update the configuration",
                    )
                )
            else:
                found.append(
                    _problem(
                        entry,
                        "token",
                        "warning",
                        f"could not check the token: {url} answered {status}",
                    )
                )
    for index, app in enumerate(config.apps):
        found.append(_github_app_online(entry, f"apps[{index}]", app, api, http))
    return found


def _github_app_online(entry: Config, key: str, app: Any, api: str, http: HttpClient) -> Problem:
    from scmreader.errors import AuthenticationError
    from scmreader.integrations.github import GithubAppManager

    try:
        installations = GithubAppManager(app, api, http=http).installations()
    except ConfigError as exc:
        return Problem.from_error(exc)
    except AuthenticationError:
        return _problem(
            entry,
            key,
            "error",
            f"GitHub App {app.app_id} was rejected by {api} (401); check "
            "appId and privateKey, and this machine's clock",
        )
    except ScmReaderError as exc:
        return _unreachable(entry, key, f"{api}/app/installations", exc)
    owners = sorted(
        str(i["account"].get("login"))
        for i in installations
        if isinstance(i.get("account"), dict) and i["account"].get("login")
    )
    allowed = app.allowed_installation_owners
    missing = sorted(set(allowed or ()) - {o.lower() for o in owners})
    if not installations:
        return _problem(
            entry,
            key,
            "warning",
            f"GitHub App {app.app_id} is accepted by {api} but has no "
            "installation; install it on the organisations to read",
        )
    if missing:
        return _problem(
            entry,
            key,
            "warning",
            f"GitHub App {app.app_id} is not installed for "
            f"{', '.join(missing)} (allowedInstallationOwners); install it there",
        )
    return _problem(
        entry,
        key,
        "notice",
        f"GitHub App {app.app_id} accepted by {api}: "
        f"{len(installations)} installation(s) ({', '.join(owners)})",
    )


def _problem(entry: Config, key: str | None, severity: Severity, message: str) -> Problem:
    return Problem.from_error(entry.error(key, message), severity)


def _unreachable(entry: Config, key: str, url: str, exc: Exception) -> Problem:
    from scmreader.redact import redact, redact_url

    return _problem(
        entry,
        key,
        "warning",
        f"could not check the credentials at {redact_url(url)}: {redact(str(exc))}",
    )


ONLINE_CHECKS: dict[str, OnlineCheck] = {"github": _github_online}


# --- output -------------------------------------------------------------------------


def format_report(report: ValidationReport, fmt: str = "text") -> str:
    """The report as ``text`` (one line per problem and a summary), ``json`` or ``github``
    (GitHub Actions workflow commands: ``::error file=F,line=N::key: message``)."""
    if fmt == "json":
        return json.dumps(report_dict(report), indent=2)
    if fmt == "github":
        lines = [_github_line(report, p) for p in report.problems]
        return "\n".join([*lines, _summary(report)])
    lines = [str(_effective(report, p)) for p in report.problems]
    lines.append(_summary(report))
    return "\n".join(lines)


def report_dict(report: ValidationReport) -> dict[str, Any]:
    """The report as plain data (the ``json`` format)."""
    return {
        "valid": report.valid,
        "files": report.files,
        "checked": report.checked,
        "errors": len(report.errors),
        "warnings": len(report.warnings),
        "problems": [
            {
                "severity": _effective(report, p).severity,
                "file": p.file,
                "line": p.line,
                "key_path": p.key_path,
                "message": p.message,
            }
            for p in report.problems
        ],
    }


def _effective(report: ValidationReport, problem: Problem) -> Problem:
    if report.strict and problem.severity == "warning":
        return Problem("error", problem.message, problem.key_path, problem.file, problem.line)
    return problem


def _summary(report: ValidationReport) -> str:
    errors, warnings = len(report.errors), len(report.warnings)
    files = f"{len(report.files)} file" + ("s" if len(report.files) != 1 else "")
    counts = f"{errors} error{'s' if errors != 1 else ''}, " + (
        f"{warnings} warning{'s' if warnings != 1 else ''}"
    )
    verdict = "valid" if report.valid else "invalid"
    entries = "entry" if report.checked == 1 else "entries"
    return f"{verdict}: {counts} in {files} ({report.checked} {entries} checked)"


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _github_line(report: ValidationReport, problem: Problem) -> str:
    p = _effective(report, problem)
    props = []
    if p.file:
        props.append(f"file={_escape_property(p.file)}")
        if p.line:
            props.append(f"line={p.line}")
    text = f"{p.key_path}: {p.message}" if p.key_path else p.message
    head = f"::{p.severity}" + (" " + ",".join(props) if props else "")
    return f"{head}::{_escape_data(text)}"


__all__ = [
    "FORMATS",
    "ONLINE_CHECKS",
    "REMOVED_PROVIDERS",
    "Problem",
    "Severity",
    "ValidationReport",
    "check_config",
    "check_credentials_online",
    "deprecated_keys",
    "format_report",
    "known_keys",
    "report_dict",
    "sort_problems",
    "validate_files",
]
