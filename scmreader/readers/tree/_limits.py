"""Caps that keep a hostile or broken archive from exhausting memory, disk or inodes."""

from __future__ import annotations

from dataclasses import dataclass, fields

from scmreader.errors import InputError

KIB = 1024
MIB = 1024 * KIB
GIB = 1024 * MIB


@dataclass(frozen=True)
class ArchiveLimits:
    """Limits applied while an archive is read; exceeding one raises ``ArchiveLimitError``.

    The defaults are generous enough for very large monorepos and small enough that a
    decompression bomb is stopped within a few seconds and a few hundred megabytes:

    - ``max_entries`` (200,000): entries of any kind, directories and links included, plus
      as many pax / GNU long-name records.
    - ``max_total_bytes`` (4 GiB): sum of the uncompressed sizes of all entries (selected or
      not, since they all have to be read) plus their pax / long-name records. A zip is also
      refused when its own size exceeds this.
    - ``max_ratio`` (200): inflated bytes per compressed byte. Counted on the real
      decompressed stream, and only enforced once more than ``ratio_threshold`` (100 MiB)
      has been inflated, so a small, very compressible tree still passes.
    - ``max_name_length`` (4096): bytes (UTF-8) of an entry's path.
    - ``max_component_length`` (255): bytes of one path component (``NAME_MAX``).
    - ``max_depth`` (256): path components of an entry.
    - ``max_header_bytes`` (1 MiB): size of one pax header or GNU long-name record.
    - ``max_trailing_bytes`` (16 MiB): data allowed after a tar's end-of-archive marker
      (tar pads archives to a record size; anything far beyond that is refused).
    """

    max_entries: int = 200_000
    max_total_bytes: int = 4 * GIB
    max_ratio: float = 200.0
    ratio_threshold: int = 100 * MIB
    max_name_length: int = 4096
    max_component_length: int = 255
    max_depth: int = 256
    max_header_bytes: int = 1 * MIB
    max_trailing_bytes: int = 16 * MIB

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                raise InputError(f"ArchiveLimits.{f.name} must be a positive number, got {value!r}")
