"""obsbox's own library hooks, in one registry: what each patches, what turns it off, how to undo it.

configure() applies every registered patch whose library is installed and not disabled;
:func:`unpatch_all` undoes them all (tests, and obsbox_instrumentation.testing.reset()). Each
patch names the upstream instrumentations it replaces, so neither configure() nor
opentelemetry-instrument loads those as well. The hooks import their library only when applied.

The hooks replace library methods through :func:`wrap_methods` (or :func:`wrap_library`), which
keeps each original on its wrapper, so one :func:`unwrap_methods` undoes any of them.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import FunctionType
from typing import Any

_log = logging.getLogger("obsbox_instrumentation")


@dataclass(frozen=True)
class Patch:
    """One hook. ``apply``/``undo`` are ``"module:function"`` inside this package; ``apply``
    returns False when its library is absent. ``switches``: names that disable it (in
    OBSBOX_DISABLED_INSTRUMENTATIONS or OTEL_PYTHON_DISABLED_INSTRUMENTATIONS); ``replaces``:
    upstream ``opentelemetry_instrumentor`` entry points never loaded beside it."""

    name: str
    apply: str
    undo: str
    switches: frozenset[str]
    replaces: frozenset[str]


def _patch(name: str, module: str, switches: Iterable[str], replaces: Iterable[str]) -> Patch:
    return Patch(name, f"{module}:patch_{name}", f"{module}:unpatch_{name}", frozenset(switches), frozenset(replaces))


_REGISTRY: list[Patch] = [
    _patch("flask", "wsgi", ["flask"], ["flask", "wsgi"]),
    _patch("requests", "httpclient", ["requests"], ["requests"]),
    _patch("httpx", "httpclient", ["httpx"], ["httpx"]),
    _patch("starlette", "asgi", ["starlette", "fastapi"], ["starlette", "fastapi", "asgi"]),
    _patch("django", "djangohook", ["django"], ["django"]),
    # Background jobs (docs/jobs.md): applied when the application imports the library.
    Patch("celery", "celeryhook:install", "celeryhook:uninstall", frozenset({"celery"}), frozenset({"celery"})),
    Patch("rq", "rqhook:install", "rqhook:uninstall", frozenset({"rq"}), frozenset()),
]


def register(patch: Patch) -> None:
    """Add a hook (a later registration under the same name replaces the earlier one)."""
    _REGISTRY[:] = [p for p in _REGISTRY if p.name != patch.name] + [patch]


def registered() -> tuple[Patch, ...]:
    return tuple(_REGISTRY)


def replaced_instrumentations() -> frozenset[str]:
    """Upstream instrumentor entry-point names obsbox's own hooks stand in for."""
    return frozenset().union(*(p.replaces for p in _REGISTRY))


def _call(target: str) -> object:
    module, function = target.split(":")
    return getattr(importlib.import_module(f"{__package__}.{module}"), function)()


def apply_patches(disabled: Iterable[str] = ()) -> list[str]:
    """Apply every hook not switched off whose library is installed; the names applied."""
    off = frozenset(disabled)
    done: list[str] = []
    for patch in _REGISTRY:
        if patch.switches & off:
            continue
        try:
            if _call(patch.apply):
                done.append(patch.name)
        except Exception:
            # A hook that cannot apply is skipped, never fatal to the service.
            _log.debug("obsbox: hook %s skipped", patch.name, exc_info=True)
    return done


def unpatch_all() -> None:
    """Undo every registered hook (each undo is a no-op when its patch was not applied)."""
    for patch in reversed(_REGISTRY):
        try:
            _call(patch.undo)
        except Exception:
            _log.debug("obsbox: undoing hook %s failed", patch.name, exc_info=True)


# A function giving a class's wrappers, by method name, from the class (whose methods they wrap).
Wrappers = Callable[[Any], Mapping[str, Any]]


def wrap_methods(owner: Any, wrappers: Mapping[str, Any]) -> None:
    """Put each wrapper in place of ``owner``'s method of that name, remembering the original
    for :func:`unwrap_methods`."""
    for name, wrapper in wrappers.items():
        wrapper._obsbox_original = owner.__dict__[name]
        setattr(owner, name, wrapper)


def _wrapped(owner: Any) -> dict[str, Any]:
    """The originals of ``owner``'s methods :func:`wrap_methods` replaced, by name."""
    # Only plain functions are asked: any other class attribute may compute its attributes.
    return {
        name: value._obsbox_original
        for name, value in vars(owner).items()
        if isinstance(value, FunctionType) and hasattr(value, "_obsbox_original")
    }


def is_wrapped(owner: Any) -> bool:
    return bool(_wrapped(owner))


def unwrap_methods(owner: Any) -> None:
    """Put back every method of ``owner`` that :func:`wrap_methods` replaced."""
    for name, original in _wrapped(owner).items():
        setattr(owner, name, original)


def _classes(paths: Iterable[str]) -> list[Any] | None:
    """The classes named ``"module:Class"``; None when a module is not installed."""
    try:
        return [getattr(importlib.import_module(module), name) for module, name in (p.split(":") for p in paths)]
    except ImportError:
        return None


def wrap_library(hooks: Mapping[str, Wrappers]) -> bool:
    """Wrap methods of a library's classes, once: ``hooks`` maps ``"module:Class"`` to the function
    giving that class's wrappers. False when the library is not installed."""
    classes = _classes(hooks)
    if classes is None:
        return False
    for owner, make in zip(classes, hooks.values()):
        if not is_wrapped(owner):
            wrap_methods(owner, make(owner))
    return True


def unwrap_library(*paths: str) -> None:
    """Undo :func:`wrap_library` for the classes named ``"module:Class"`` (tests)."""
    for owner in _classes(paths) or ():
        unwrap_methods(owner)
