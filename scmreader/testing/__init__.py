"""FakeScmHost: test your code against local, real HTTP emulations of source-code hosts.

Everything is re-exported here and loaded lazily, so importing this package (as the pytest
plugin does in every test run) stays cheap and does not import gitpython.

    from scmreader.testing import FakeScmHost

    with FakeScmHost() as host:
        host.add_repo("octo/docs", {"README.md": "# hi\\n"})
        host.serve_file("/catalog-info.yaml", "kind: Component\\n")
        host.faults.statuses(r"/catalog-info", [500, 200])

:class:`TestCaches` runs a test once per response-cache backend (memory, SQLite, a real
Redis); :mod:`scmreader.testing.redis_server` starts a throw-away ``redis-server``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from scmreader.testing.caches import TestCache, TestCaches
    from scmreader.testing.exceptions import FakeHostError, UnknownPathError, UnknownRefError
    from scmreader.testing.faults import Faults, FaultStep
    from scmreader.testing.messages import (
        FakeRequest,
        FakeResponse,
        Headers,
        RecordedRequest,
    )
    from scmreader.testing.repo import (
        CommitInfo,
        FakeRepo,
        FileContent,
        FileSpec,
        TreeEntry,
        executable,
        submodule,
        symlink,
    )
    from scmreader.testing.server import FakeScmHost, FakeScmHostFactory, available_providers

_LAZY = {
    "TestCache": "scmreader.testing.caches",
    "TestCaches": "scmreader.testing.caches",
    "FakeHostError": "scmreader.testing.exceptions",
    "UnknownPathError": "scmreader.testing.exceptions",
    "UnknownRefError": "scmreader.testing.exceptions",
    "FaultStep": "scmreader.testing.faults",
    "Faults": "scmreader.testing.faults",
    "FakeRequest": "scmreader.testing.messages",
    "FakeResponse": "scmreader.testing.messages",
    "Headers": "scmreader.testing.messages",
    "RecordedRequest": "scmreader.testing.messages",
    "CommitInfo": "scmreader.testing.repo",
    "FakeRepo": "scmreader.testing.repo",
    "FileContent": "scmreader.testing.repo",
    "FileSpec": "scmreader.testing.repo",
    "TreeEntry": "scmreader.testing.repo",
    "executable": "scmreader.testing.repo",
    "submodule": "scmreader.testing.repo",
    "symlink": "scmreader.testing.repo",
    "FakeScmHost": "scmreader.testing.server",
    "FakeScmHostFactory": "scmreader.testing.server",
    "available_providers": "scmreader.testing.server",
}

__all__ = [
    "CommitInfo",
    "FakeHostError",
    "FakeRepo",
    "FakeRequest",
    "FakeResponse",
    "FakeScmHost",
    "FakeScmHostFactory",
    "FaultStep",
    "Faults",
    "FileContent",
    "FileSpec",
    "Headers",
    "RecordedRequest",
    "TestCache",
    "TestCaches",
    "TreeEntry",
    "UnknownPathError",
    "UnknownRefError",
    "available_providers",
    "executable",
    "submodule",
    "symlink",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'scmreader.testing' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
