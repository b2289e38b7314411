"""Run a callback when a module is first imported, or now if it already is.

Celery and RQ take a few hundred milliseconds to import; obsbox-instrument configures every
Python process of the launched tree (a ``manage.py`` command, a cron script), so obsbox must not
import them itself just because they are installed. A finder placed first on ``sys.meta_path``
wraps the module's loader and calls back right after the module body ran.
"""

from __future__ import annotations

import contextlib
import importlib.abc
import importlib.machinery
import importlib.util
import logging
import sys
import threading
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

_log = logging.getLogger(__name__)
_lock = threading.RLock()
_pending: dict[str, list[Callable[[], None]]] = {}


def is_installed(name: str) -> bool:
    with contextlib.suppress(ImportError, ValueError):
        return importlib.util.find_spec(name) is not None
    return False


def when_imported(name: str, callback: Callable[[], None]) -> None:
    """Call ``callback()`` once ``name`` is imported (at once if it already is)."""
    if name in sys.modules:
        _call(callback)
        return
    with _lock:
        _pending.setdefault(name, []).append(callback)
        if not any(isinstance(f, _Finder) for f in sys.meta_path):
            sys.meta_path.insert(0, _Finder())


def on_import(name: str, callback: Callable[[], None]) -> bool:
    """:func:`when_imported`, when ``name`` is installed at all; False (nothing to do) when not."""
    if not is_installed(name):
        return False
    when_imported(name, callback)
    return True


def cancel(name: str) -> None:
    with _lock:
        _pending.pop(name, None)


def _call(callback: Callable[[], None]) -> None:
    try:
        callback()
    except Exception:
        _log.debug("obsbox: post-import hook failed", exc_info=True)


class _Loader(importlib.abc.Loader):
    def __init__(self, wrapped: Any, name: str) -> None:
        self._wrapped = wrapped
        self._name = name

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self._wrapped.create_module(spec)  # type: ignore[no-any-return]

    def exec_module(self, module: ModuleType) -> None:
        self._wrapped.exec_module(module)
        with _lock:
            callbacks = _pending.pop(self._name, [])
        for callback in callbacks:
            _call(callback)

    def __getattr__(self, attr: str) -> Any:  # get_data, is_package ... of the real loader
        return getattr(self._wrapped, attr)


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in _pending:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    spec.loader = _Loader(spec.loader, fullname)
                return spec  # type: ignore[no-any-return]
        return None
