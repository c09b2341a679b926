"""scmreader: read files, trees and glob searches from source-code hosts and object stores.

The public API is re-exported here and loaded lazily, so ``import scmreader`` stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from scmreader._version import __version__

if TYPE_CHECKING:
    from scmreader.config import Config, load_config, optional
    from scmreader.integrations import ScmIntegrations
    from scmreader.readers import BatchResult, UrlReaders
    from scmreader.readers._discover import DiscoveryResult, DiscoveryRun, DiscoverySummary
    from scmreader.readers._listing import Repository
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
    "BatchResult": "scmreader.readers",
    "DiscoveryResult": "scmreader.readers._discover",
    "DiscoveryRun": "scmreader.readers._discover",
    "DiscoverySummary": "scmreader.readers._discover",
    "Repository": "scmreader.readers._listing",
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
    "BatchResult",
    "Config",
    "DiscoveryResult",
    "DiscoveryRun",
    "DiscoverySummary",
    "ReadTreeFile",
    "ReadTreeResponse",
    "ReadUrlResponse",
    "Repository",
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
    from scmreader._lazy import lazy_attribute

    return lazy_attribute(globals(), __name__, _LAZY, name)
