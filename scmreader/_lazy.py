"""Lazy re-exports for a package's module-level ``__getattr__`` (PEP 562): the package
names each public attribute's module, and the module is imported on first use."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any


def lazy_attribute(
    namespace: dict[str, Any], package: str, modules: Mapping[str, str], name: str
) -> Any:
    """``name`` imported from ``modules[name]`` and kept in ``namespace`` (the package's
    ``globals()``); AttributeError when the package does not export it."""
    module = modules.get(name)
    if module is None:
        raise AttributeError(f"module {package!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    namespace[name] = value
    return value
