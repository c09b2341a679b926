"""Read many URLs on a Dask cluster (extra ``dask``: ``pip install 'scmreader[dask]'``).

    from dask.distributed import Client
    import scmreader.dask

    client = Client("tcp://scheduler:8786")          # or Client(LocalCluster(...))
    results = scmreader.dask.read_many(client, urls, config="app-config.yaml")
    for r in results:                                # in input order, one per URL
        if r.ok:
            handle(r.url, r.value.buffer(), r.value.etag)

Dask schedules the work; scmreader adds no pool of its own. Each worker process builds
its :class:`~scmreader.readers.UrlReaders` once per configuration and reuses it for every
task, so connections, GitHub App tokens and the response cache are shared by its tasks.
With ``scmreader.cache.store: redis`` in the configuration, all workers (on any machine)
share one response cache: a file another worker already read is revalidated with a
bodiless 304 instead of downloaded again.

Results are what :meth:`UrlReaders.read_many <scmreader.readers.UrlReaders.read_many>`
gives: one :class:`~scmreader.readers.BatchResult` per URL holding a buffered
:class:`~scmreader.readers.types.ReadUrlResponse` (``buffer()``, ``etag``) or the typed error.
:func:`read_bag` is the same thing as a ``dask.bag.Bag``, to chain with your own steps
(``.map(parse).filter(...)``) before computing.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from scmreader.errors import ConfigError, InputError, ScmReaderError

if TYPE_CHECKING:
    import dask.bag
    from distributed import Client

    from scmreader.config import Config
    from scmreader.readers import BatchResult, UrlReaders
    from scmreader.readers.types import ReadUrlResponse

    Result = BatchResult[ReadUrlResponse]

__all__ = ["read_bag", "read_many", "worker_readers", "worker_readers_built"]

#: URLs per Dask task when the caller does not say: small enough to spread the work,
#: large enough that scheduling costs little next to the requests.
DEFAULT_PARTITION_SIZE = 16


@dataclass(frozen=True)
class _ConfigSpec:
    """What a task carries to build its readers: the loaded config and its fingerprint."""

    key: str
    config: Config | None


#: Configurations whose readers a worker process keeps (the least recently used goes).
MAX_CONFIGS_PER_WORKER = 8

_lock = threading.Lock()
_readers: OrderedDict[str, UrlReaders] = OrderedDict()
_built = 0


def _spec(config: Config | Mapping[str, Any] | str | None) -> _ConfigSpec:
    if config is None:
        return _ConfigSpec("worker-default", None)
    from scmreader.config import Config, load_config

    loaded = config if isinstance(config, Config) else load_config(config)
    data = json.dumps(loaded.as_dict(), sort_keys=True, default=str).encode()
    return _ConfigSpec(hashlib.sha256(data).hexdigest(), loaded)


def worker_readers(config: Config | Mapping[str, Any] | str | None = None) -> UrlReaders:
    """The readers of this process for ``config``, built on first use and then reused.

    ``None`` loads the worker's own ``app-config.yaml`` (and ``.local``) from its working
    directory. Tasks of your own can call this to share the worker's readers.
    """
    return _readers_for(_spec(config))


def _readers_for(spec: _ConfigSpec) -> UrlReaders:
    global _built
    with _lock:
        readers = _readers.get(spec.key)
        if readers is None:
            from scmreader.readers import UrlReaders

            readers = UrlReaders.default(spec.config)
            _readers[spec.key] = readers
            _built += 1
            while len(_readers) > MAX_CONFIGS_PER_WORKER:
                _readers.popitem(last=False)
        _readers.move_to_end(spec.key)
        return readers


def worker_readers_built() -> int:
    """How many UrlReaders this process has built (one per distinct configuration)."""
    return _built


def _read_one(readers: UrlReaders, url: str, etag: str | None) -> Result:
    from scmreader.readers import BatchResult
    from scmreader.readers.types import ReadUrlResponse

    try:
        response = readers.read_url(url, etag=etag)
        # a bytes-backed copy: it pickles back to the client, the live stream would not
        copy = ReadUrlResponse(
            response.buffer(), etag=response.etag, last_modified_at=response.last_modified_at
        )
        return BatchResult(url, copy)
    except ScmReaderError as exc:
        return BatchResult(url, error=exc)


def _read_partition(items: Iterable[tuple[str, str | None]], spec: _ConfigSpec) -> list[Result]:
    readers = _readers_for(spec)
    return [_read_one(readers, url, etag) for url, etag in items]


def _dask_bag() -> Any:
    try:
        import dask.bag as db
    except ImportError:
        raise ConfigError(
            "scmreader.dask needs Dask; install it with pip install 'scmreader[dask]'."
        ) from None
    return db


def read_bag(
    urls: Iterable[str],
    *,
    config: Config | Mapping[str, Any] | str | None = None,
    etags: Mapping[str, str] | None = None,
    partition_size: int = DEFAULT_PARTITION_SIZE,
) -> dask.bag.Bag:
    """A lazy ``dask.bag.Bag`` of one result per URL, in input order (see :func:`read_many`).

    ``config`` is loaded here, once (a path, a mapping or a Config; ``${VAR}`` resolved
    from this process's environment), and shipped to the workers; ``None`` lets each
    worker load its own default config. ``etags`` maps a URL to the etag of an earlier
    read: an unchanged file gives a NotModifiedError result without a download.
    """
    if partition_size < 1:
        raise InputError(f"partition_size must be at least 1 URL per task, not {partition_size}.")
    db = _dask_bag()
    spec = _spec(config)
    known = etags or {}
    items = [(url, known.get(url)) for url in urls]
    bag: Any = db.from_sequence(items, partition_size=partition_size)
    result: dask.bag.Bag = bag.map_partitions(_read_partition, spec)
    return result


def read_many(
    client: Client | None,
    urls: Iterable[str],
    *,
    config: Config | Mapping[str, Any] | str | None = None,
    etags: Mapping[str, str] | None = None,
    partition_size: int = DEFAULT_PARTITION_SIZE,
) -> list[Result]:
    """Read every URL on ``client``'s cluster; one result per URL, in input order.

    Each is a :class:`~scmreader.readers.BatchResult` as ``UrlReaders.read_many`` gives:
    ``value`` a buffered ReadUrlResponse, or ``error`` the typed error of that URL
    (``not_modified`` when the etag passed for it still matches).

    ``client=None`` runs the tasks on Dask's local thread scheduler in this process
    (sharing one UrlReaders), for trying things out without a cluster. A failing URL
    never fails the batch: its result carries the typed error. See :func:`read_bag` for
    the other arguments.
    """
    urls = list(urls)
    if not urls:
        return []
    bag = read_bag(urls, config=config, etags=etags, partition_size=partition_size)
    if client is None:
        local: list[Result] = bag.compute(scheduler="threads")  # type: ignore[no-untyped-call]
        return local
    future: Any = client.compute(bag)  # type: ignore[no-untyped-call]
    results: list[Result] = future.result()
    return results
