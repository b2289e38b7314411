"""The Prometheus text formats obsbox reads and writes, each in one place.

Durations (``1h30m``), times (RFC 3339 or epoch seconds), floats as Go reads them, YAML read
with the line of every mapping, list and scalar (so each error names ``file:line``), and
atomic file writes. Everything that reads a recording, a rule file, a promtool test file or
inventory data uses these; nothing here knows about any of those files (docs/architecture.md,
Layers).
"""

from __future__ import annotations

import math
import os
import re
import tempfile
from collections.abc import Collection, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

# --- errors -------------------------------------------------------------------------------


class FormatError(ValueError):
    """Bad input in one of these formats; the message is ``file:line: message``.

    Line 0 means the file as a whole (missing, unreadable), not one of its lines.
    """

    def __init__(self, path: str | Path, line: int, message: str) -> None:
        super().__init__(f"{path}:{line}: {message}" if line else f"{path}: {message}")
        self.path = str(path)
        self.line = line


# --- durations ----------------------------------------------------------------------------

_DURATION = re.compile(
    r"^(?:(?P<y>\d+)y)?(?:(?P<w>\d+)w)?(?:(?P<d>\d+)d)?(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m)?(?:(?P<s>\d+)s)?(?:(?P<ms>\d+)ms)?$"
)
_UNIT_MS = {"y": 365 * 86400_000, "w": 7 * 86400_000, "d": 86400_000, "h": 3600_000, "m": 60_000, "s": 1000, "ms": 1}
# The units format_duration_ms writes, largest first (y and w are not exact multiples in reports).
_FORMAT_UNITS_MS = (("d", 86400_000), ("h", 3600_000), ("m", 60_000), ("s", 1000), ("ms", 1))


def parse_duration_ms(text: object) -> int:
    """Milliseconds in a Prometheus duration (model.ParseDuration): ``0``, ``30s``, ``1h30m``.

    Units must come largest first, each at most once; ValueError otherwise.
    """
    s = str(text).strip()
    if s == "0":
        return 0
    match = _DURATION.match(s)
    if not s or match is None or not any(match.groupdict().values()):
        raise ValueError(f"{s!r} is not a duration like 30s, 5m or 1h30m")
    return sum(int(v) * _UNIT_MS[k] for k, v in match.groupdict().items() if v)


def parse_duration(text: object) -> float:
    """Seconds in a Prometheus duration such as 30s, 5m, 1h30m; ValueError otherwise.

    Whole seconds come back as an int, so that reports write ``900``, not ``900.0``."""
    ms = parse_duration_ms(text)
    return ms // 1000 if ms % 1000 == 0 else ms / 1000


def is_duration(text: object) -> bool:
    """Whether the text is a Prometheus duration."""
    try:
        parse_duration_ms(text)
    except ValueError:
        return False
    return True


def format_duration_ms(ms: int) -> str:
    """The shortest Prometheus spelling of a whole number of milliseconds (``1h30m``, ``0s``)."""
    if ms < 0:
        return "-" + format_duration_ms(-ms)
    if ms == 0:
        return "0s"
    out = ""
    for unit, size in _FORMAT_UNITS_MS:
        if ms >= size:
            out += f"{ms // size}{unit}"
            ms %= size
    return out


def format_duration(seconds: float) -> str:
    """The shortest Prometheus spelling of ``seconds`` rounded to a whole second (e.g. 1h30m)."""
    return format_duration_ms(int(round(seconds)) * 1000)


# --- times --------------------------------------------------------------------------------

_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def parse_time_ms(text: str) -> int:
    """Milliseconds since the epoch from RFC 3339 text or epoch seconds; ValueError otherwise."""
    text = text.strip()
    if _NUMBER.match(text):
        seconds = float(text)
        if not math.isfinite(seconds) or seconds < 0:
            raise ValueError(f"{text!r} is not a time")
        return round(seconds * 1000)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not an RFC 3339 time or epoch seconds") from None
    if moment.tzinfo is None:
        raise ValueError(f"{text!r} has no time zone (write e.g. 2026-11-20T10:00:00Z)")
    return round(moment.timestamp() * 1000)


def format_time(ms: int) -> str:
    """RFC 3339 in UTC, as manifests, reports and messages spell times (never ``1.79517e+09``)."""
    moment = datetime.fromtimestamp(ms / 1000, tz=UTC)
    text = moment.isoformat(timespec="milliseconds" if ms % 1000 else "seconds")
    return text.replace("+00:00", "Z")


# --- floats -------------------------------------------------------------------------------

INFINITIES = frozenset({"inf", "+inf", "-inf", "infinity", "+infinity", "-infinity"})
_YAML_SPECIALS = {".inf": "inf", "+.inf": "inf", "-.inf": "-inf", ".nan": "nan"}


def parse_number(text: str) -> float:
    """A float as Prometheus (Go's strconv.ParseFloat) reads it: ValueError for text that is not
    a number, and for a finite spelling out of float64's range (``1e999``), which Python would
    silently turn into infinity."""
    value = float(text)
    if math.isinf(value) and text.strip().lower() not in INFINITIES:
        raise ValueError(f"{text!r} is out of range for a 64-bit float")
    return value


def format_number(value: float) -> str:
    """A float as Prometheus writes it and Go reads it back to the same float64 (``+Inf``,
    ``NaN``, integers without a fraction, others as Python's shortest round-trip repr)."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))


def parse_float(text: object) -> float:
    """A YAML float as Go reads it (``.inf``, ``-.Inf``, ``.nan`` included)."""
    s = str(text).strip()
    return parse_number(_YAML_SPECIALS.get(s.lower(), s))


# --- YAML with line numbers ----------------------------------------------------------------


class Map(dict[str, Any]):
    """A YAML mapping with the line it starts on and the line of each key (1-based)."""

    line = 0
    key_lines: dict[str, int]
    # Keys given more than once, with the line of the repeat (YAML 1.2 and Go refuse them).
    repeated: list[tuple[str, int]]


class List(list[Any]):
    """A YAML sequence with the line it starts on (1-based)."""

    line = 0


class Text(str):
    """A YAML scalar, kept as text as Go's YAML keeps it for a string field, with its line."""

    line = 0


class _LineLoader(yaml.SafeLoader):
    """SafeLoader whose mappings, lists and scalars remember the line they start on, and whose
    scalars stay text: Go's YAML reads ``values: 0x10`` into a string as "0x10", where YAML 1.1
    would make it the integer 16. Only ``null`` (and an empty value) is read as None."""


_LineLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag == "tag:yaml.org,2002:null"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> Map:
    result = Map()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    result.repeated = []
    for key_node, value_node in node.value:
        key = str(loader.construct_object(key_node, deep=True))
        line = key_node.start_mark.line + 1
        if key in result:
            result.repeated.append((key, line))
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[key] = line
    return result


def _construct_sequence(loader: _LineLoader, node: yaml.SequenceNode) -> List:
    result = List(loader.construct_sequence(node, deep=True))
    result.line = node.start_mark.line + 1
    return result


def _construct_text(loader: _LineLoader, node: yaml.ScalarNode) -> Text:
    result = Text(loader.construct_scalar(node))
    result.line = node.start_mark.line + 1
    return result


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)
_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SCALAR_TAG, _construct_text)
# What was loaded can be dumped again (promtool test files are rewritten with other rule paths).
yaml.SafeDumper.add_representer(Text, yaml.representer.SafeRepresenter.represent_str)
yaml.SafeDumper.add_representer(Map, yaml.representer.SafeRepresenter.represent_dict)
yaml.SafeDumper.add_representer(List, yaml.representer.SafeRepresenter.represent_list)


def yaml_error_line(exc: yaml.MarkedYAMLError, text: str) -> int:
    """The 1-based line of a YAML error: the problem's, or, when the problem is the end of the
    file (an unclosed ``[`` or ``{``), the line where the unclosed construct opened."""
    last = len(text.splitlines()) or 1
    for mark in (exc.problem_mark, exc.context_mark):
        if mark is not None and mark.line < last:
            return int(mark.line) + 1
    return last


def yaml_error_text(exc: yaml.MarkedYAMLError) -> str:
    if exc.context and exc.context_mark is not None and exc.context_mark != exc.problem_mark:
        return f"{exc.problem} ({exc.context} from line {exc.context_mark.line + 1})"
    return str(exc.problem or exc)


def yaml_error(path: Path | str, exc: yaml.MarkedYAMLError, text: str) -> str:
    """``file:line: not valid YAML: problem`` for a YAML error in ``text``, read from ``path``."""
    return f"{path}:{yaml_error_line(exc, text)}: not valid YAML: {yaml_error_text(exc)}"


def load_yaml_with_lines(
    path: Path | str, error: type[FormatError] = FormatError, *, what: str = "", unreadable: str = ""
) -> Any:
    """YAML whose mappings, lists and scalars carry a ``line`` attribute (1-based).

    A YAML syntax error is ``error(path, line, what + problem)``; an unreadable file is
    ``error(path, 0, unreadable + reason)``.
    """
    path = Path(path)
    try:
        with open(path, encoding="utf-8") as handle:
            return yaml.load(handle, Loader=_LineLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        raise error(path, line, f"{what}{exc.problem or exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise error(path, 0, f"{unreadable}{getattr(exc, 'strerror', None) or exc}") from None


def line_of(node: object, default: int) -> int:
    """The line a loaded YAML value starts on, or ``default`` (None and plain values have none)."""
    return int(getattr(node, "line", 0) or default)


class LineReader:
    """Walks YAML loaded by ``load_yaml_with_lines``, raising ``error`` at the value's line."""

    def __init__(self, path: Path, error: type[FormatError] = FormatError) -> None:
        self.path = path
        self.error = error

    def fail(self, line: int, message: str) -> FormatError:
        return self.error(self.path, line, message)

    def mapping(self, node: object, line: int, what: str) -> Map:
        """A mapping (None reads as an empty one)."""
        if node is None:
            empty = Map()
            empty.line, empty.key_lines, empty.repeated = line, {}, []
            return empty
        if not isinstance(node, Map):
            raise self.fail(line_of(node, line), f"{what} must be a mapping")
        return node

    def listing(self, node: object, line: int, what: str) -> list[Any]:
        """A list (None reads as an empty one)."""
        if node is None:
            return []
        if not isinstance(node, list):
            raise self.fail(line_of(node, line), f"{what} must be a list")
        return node

    def each_mapping(self, node: Map, key: str, line: int, what: str) -> Iterator[tuple[Map, int]]:
        """Each mapping in the list ``node[key]`` (absent: none), with the line it starts on."""
        for item in self.listing(node.get(key), line, key):
            mapping = self.mapping(item, line, what)
            yield mapping, line_of(mapping, line)

    def strings(self, node: object, line: int, what: str) -> dict[str, str]:
        """A mapping of names to text (a None value reads as "")."""
        mapping = self.mapping(node, line, what)
        return {str(k): "" if v is None else str(v) for k, v in mapping.items()}

    def text(self, node: object, line: int, what: str) -> str:
        """A non-empty scalar."""
        if not isinstance(node, str) or node == "":
            raise self.fail(line_of(node, line), f"{what} must be a non-empty string")
        return str(node)

    def choice(self, node: object, line: int, what: str, choices: Sequence[str]) -> str:
        value = self.text(node, line, what)
        if value not in choices:
            raise self.fail(line_of(node, line), f"{what} must be one of {', '.join(choices)}, not {value!r}")
        return value

    def duration_ms(self, node: Map, key: str, default: int, what: str = "") -> int:
        """``node[key]`` as a duration in milliseconds; ``default`` when absent or null."""
        if key not in node or node[key] is None:
            return default
        try:
            return parse_duration_ms(node[key])
        except ValueError as exc:
            raise self.fail(line_of(node[key], node.line), f"{what or key}: {exc}") from None

    def time_ms(self, node: object, line: int, what: str) -> int:
        try:
            return parse_time_ms(self.text(node, line, what))
        except ValueError as exc:
            raise self.fail(line_of(node, line), f"{what}: {exc}") from None

    def check_keys(self, node: Map, allowed: Collection[str], what: str, *, go_type: str = "") -> None:
        """Refuse keys given twice or not in ``allowed``; ``go_type`` words it as Go's YAML does."""
        for key, line in node.repeated:
            raise self.fail(line, f"{what}: {key!r} given twice")
        for key in node:
            if key not in allowed:
                line = node.key_lines.get(key, node.line)
                if go_type:
                    raise self.fail(line, f"field {key} not found in type {go_type}")
                raise self.fail(line, f"{what}: unknown key {key!r} (allowed: {', '.join(sorted(allowed))})")


# --- atomic writes -------------------------------------------------------------------------


def write_atomically(path: Path | str, text: str) -> None:
    """Write text so that the file is either the old one or complete, never half-written."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or ".")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        # mkstemp creates 0600; these files are for reading, so keep an existing file's mode or use 0644.
        os.chmod(tmp, path.stat().st_mode & 0o777 if path.exists() else 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
