"""scmreader: read files, trees and glob searches from source-code hosts and object stores.

The public API is re-exported here and loaded lazily, so ``import scmreader`` stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from scmreader._version import __version__

if TYPE_CHECKING:
    from scmreader.config import Config, load_config, optional
    from scmreader.integrations import ScmIntegrations
    from scmreader.readers import UrlReaders
    from scmreader.readers.types import (
        ReadTreeFile,
        ReadTreeResponse,
        ReadUrlResponse,
        SearchResponse,
        SearchResponseFile,
        UrlReaderService,
    )

_LAZY = {
    "Config": "scmreader.config",
    "load_config": "scmreader.config",
    "optional": "scmreader.config",
    "ScmIntegrations": "scmreader.integrations",
    "UrlReaders": "scmreader.readers",
    "ReadTreeFile": "scmreader.readers.types",
    "ReadTreeResponse": "scmreader.readers.types",
    "ReadUrlResponse": "scmreader.readers.types",
    "SearchResponse": "scmreader.readers.types",
    "SearchResponseFile": "scmreader.readers.types",
    "UrlReaderService": "scmreader.readers.types",
    "get_github_file_fetch_url": "scmreader.integrations.github",
    "replace_github_url_type": "scmreader.integrations.github",
}

__all__ = [
    "Config",
    "ReadTreeFile",
    "ReadTreeResponse",
    "ReadUrlResponse",
    "ScmIntegrations",
    "SearchResponse",
    "SearchResponseFile",
    "UrlReaderService",
    "UrlReaders",
    "__version__",
    "get_github_file_fetch_url",
    "load_config",
    "optional",
    "replace_github_url_type",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'scmreader' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
