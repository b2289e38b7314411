"""The subset of Prometheus' Go alert templates that obsbox renders itself.

Supported: text and ``{{ ... }}`` actions (with ``{{-``/``-}}`` trimming) made of pipelines over
``$labels.NAME``, ``$value``, ``$externalLabels.NAME``, ``$externalURL``, ``.Labels.NAME``,
``.Value``, string and number literals, and the functions humanize, humanize1024,
humanizePercentage, humanizeDuration, printf, toUpper, toLower, title. Anything else (``if``,
``range``, ``query``, ...) raises ``TemplateUnsupported``, so callers report it instead of
passing silently.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

# Prometheus prefixes every template with these definitions (template.go's defs).
_VARIABLES = ("labels", "externalLabels", "externalURL", "value")


class TemplateUnsupported(ValueError):
    """The template uses Go template features outside obsbox's subset."""


class TemplateError(ValueError):
    """The template is malformed (Prometheus would also fail to expand it)."""


@dataclass(frozen=True)
class TemplateData:
    labels: Mapping[str, str]
    value: float
    external_labels: Mapping[str, str] = field(default_factory=dict)
    external_url: str = ""


_ACTION = re.compile(r"\{\{(-\s)?(.*?)(\s-)?\}\}", re.DOTALL)
_TOKEN = re.compile(
    r"""\s*(?:
        (?P<str>"(?:[^"\\]|\\.)*")
      | (?P<raw>`[^`]*`)
      | (?P<num>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)
      | (?P<var>\$[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
      | (?P<field>(?:\.[A-Za-z_][A-Za-z0-9_]*)+)
      | (?P<pipe>\|)
      | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
      | (?P<paren>[()])
    )""",
    re.VERBOSE,
)


def render(template: str, data: TemplateData) -> str:
    """Expand ``template`` as Prometheus would, within the supported subset."""
    out: list[str] = []
    pos = 0
    for match in _ACTION.finditer(template):
        text = template[pos : match.start()]
        if match.group(1):
            text = text.rstrip()
        out.append(text)
        pos = match.end()
        if match.group(3):
            rest = template[pos:]
            pos += len(rest) - len(rest.lstrip())
        body = match.group(2).strip()
        if body.startswith("/*"):
            continue
        out.append(_evaluate_pipeline(body, data))
    out.append(template[pos:])
    return "".join(out)


def uses_templates(text: str) -> bool:
    return "{{" in text


def _tokens(body: str) -> list[tuple[str, str]]:
    tokens = []
    pos = 0
    while pos < len(body):
        if body[pos:].strip() == "":
            break
        match = _TOKEN.match(body, pos)
        if match is None or match.end() == pos:
            raise TemplateUnsupported(f"cannot read {body[pos:].strip()[:30]!r} in {{{{ {body} }}}}")
        kind = match.lastgroup
        assert kind is not None
        tokens.append((kind, match.group(kind)))
        pos = match.end()
    return tokens


_KEYWORDS = {"if", "else", "end", "range", "with", "define", "template", "block", "break", "continue", "nil"}


def _evaluate_pipeline(body: str, data: TemplateData) -> str:
    tokens = _tokens(body)
    if not tokens:
        raise TemplateError("empty action {{ }}")
    if any(kind == "paren" for kind, _ in tokens):
        raise TemplateUnsupported(f"parenthesised pipelines are not supported: {{{{ {body} }}}}")
    if tokens[0][0] == "ident" and tokens[0][1] in _KEYWORDS:
        raise TemplateUnsupported(f"{tokens[0][1]!r} is not supported: {{{{ {body} }}}}")
    if len(tokens) >= 2 and tokens[0][0] == "var" and tokens[1] == ("ident", ":="):
        raise TemplateUnsupported(f"variable assignment is not supported: {{{{ {body} }}}}")
    commands: list[list[tuple[str, str]]] = [[]]
    for token in tokens:
        if token[0] == "pipe":
            commands.append([])
        else:
            commands[-1].append(token)
    value: object = _NO_VALUE
    for command in commands:
        if not command:
            raise TemplateError(f"empty command in pipeline {{{{ {body} }}}}")
        value = _run_command(command, value, data, body)
    return _print(value)


class _NoValue:
    pass


_NO_VALUE = _NoValue()


def _run_command(command: list[tuple[str, str]], piped: object, data: TemplateData, body: str) -> object:
    head_kind, head = command[0]
    if head_kind == "ident":
        fn = _FUNCTIONS.get(head)
        if fn is None:
            raise TemplateUnsupported(f"function {head!r} is not supported: {{{{ {body} }}}}")
        args = [_operand(kind, text, data, body) for kind, text in command[1:]]
        if not isinstance(piped, _NoValue):
            args.append(piped)
        return fn(*args)
    if len(command) > 1 or not isinstance(piped, _NoValue):
        raise TemplateError(f"can't give argument to non-function in {{{{ {body} }}}}")
    return _operand(head_kind, head, data, body)


def _operand(kind: str, text: str, data: TemplateData, body: str) -> object:
    if kind == "str":
        return bytes(text[1:-1], "utf-8").decode("unicode_escape")
    if kind == "raw":
        return text[1:-1]
    if kind == "num":
        return float(text) if any(c in text for c in ".eE") else int(text)
    if kind in ("var", "field"):
        # $labels / .Labels and their siblings: Prometheus' template data under either spelling.
        parts = text[1:].split(".")
        name = parts[0][:1].lower() + parts[0][1:] if kind == "field" else parts[0]
        root = {
            "labels": data.labels,
            "externalLabels": data.external_labels,
            "externalURL": data.external_url,
            "value": data.value,
        }.get(name, _NO_VALUE)
        if isinstance(root, _NoValue) or (kind == "field") == (parts[0] == name):
            what = f"variable ${parts[0]}" if kind == "var" else f"field .{parts[0]}"
            raise TemplateUnsupported(f"{what} is not supported: {{{{ {body} }}}}")
        return _fields(root, parts[1:], body)
    raise TemplateUnsupported(f"{text!r} is not supported here: {{{{ {body} }}}}")


def _fields(root: object, names: list[str], body: str) -> object:
    value = root
    for name in names:
        if not isinstance(value, Mapping):
            raise TemplateError(f"can't read field {name} of a non-map in {{{{ {body} }}}}")
        # Prometheus runs templates with missingkey=zero: a missing label is "".
        value = value.get(name, "")
    return value


def _print(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return format_go_float(value)
    if isinstance(value, Mapping):
        inner = " ".join(f"{k}:{v}" for k, v in sorted(value.items()))
        return f"map[{inner}]"
    return str(value)


def format_go_float(value: float) -> str:
    """Go's ``%v`` for a float64: shortest digits, exponent form when exp < -4 or exp >= 21."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == 0:
        return "-0" if math.copysign(1, value) < 0 else "0"
    sign, digits, exp = Decimal(repr(value)).normalize().as_tuple()
    assert isinstance(exp, int)
    text = "".join(map(str, digits))
    point = len(text) + exp  # position of the decimal point in the digit string
    prefix = "-" if sign else ""
    if -4 < point <= 21:
        if point <= 0:
            return f"{prefix}0.{'0' * -point}{text}"
        if point >= len(text):
            return prefix + text + "0" * (point - len(text))
        return f"{prefix}{text[:point]}.{text[point:]}"
    mantissa = text[0] + ("." + text[1:] if len(text) > 1 else "")
    e = point - 1
    return f"{prefix}{mantissa}e{'+' if e >= 0 else '-'}{abs(e):02d}"


def _go_g(value: float, precision: int = 4) -> str:
    """Go's ``%.4g``: like C's, which Python's ``%g`` follows."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return f"%.{precision}g" % value


def _number(value: object) -> float:
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            raise TemplateError(f"can't convert {value!r} to a number") from None
    raise TemplateError(f"can't convert {value!r} to a number")


def humanize(value: object) -> str:
    v = _number(value)
    if v == 0 or math.isnan(v) or math.isinf(v):
        return _go_g(v)
    if abs(v) >= 1:
        return _scaled_down(v, 1000, ("k", "M", "G", "T", "P", "E", "Z", "Y"))
    return _scaled_up(v)


def humanize1024(value: object) -> str:
    v = _number(value)
    if abs(v) <= 1 or math.isnan(v) or math.isinf(v):
        return _go_g(v)
    return _scaled_down(v, 1024, ("ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"))


def _scaled_up(v: float) -> str:
    """``v`` (below 1) times 1000 while it is below 1, with the SI prefix of each step."""
    prefix = ""
    for p in ("m", "u", "n", "p", "f", "a", "z", "y"):
        if abs(v) >= 1:
            break
        prefix = p
        v *= 1000
    return _go_g(v) + prefix


def _scaled_down(v: float, base: int, prefixes: tuple[str, ...]) -> str:
    """``v`` divided by ``base`` while it is at least ``base``, with the prefix of each step."""
    prefix = ""
    for p in prefixes:
        if abs(v) < base:
            break
        prefix = p
        v /= base
    return _go_g(v) + prefix


def humanize_percentage(value: object) -> str:
    return _go_g(_number(value) * 100) + "%"


def humanize_duration(value: object) -> str:
    v = _number(value)
    if math.isnan(v) or math.isinf(v):
        return _go_g(v)
    if v == 0:
        return _go_g(v) + "s"
    if abs(v) >= 1:
        sign = ""
        if v < 0:
            sign = "-"
            v = -v
        duration = int(v)
        seconds = duration % 60
        minutes = (duration // 60) % 60
        hours = (duration // 3600) % 24
        days = duration // 86400
        if days:
            return f"{sign}{days}d {hours}h {minutes}m {seconds}s"
        if hours:
            return f"{sign}{hours}h {minutes}m {seconds}s"
        if minutes:
            return f"{sign}{minutes}m {seconds}s"
        return f"{sign}{_go_g(v)}s"
    return _scaled_up(v) + "s"


_VERB = re.compile(r"%([-+# 0]*)(\d+)?(?:\.(\d+))?([vdfgesqxXtT%])")


def printf(fmt: object, *args: object) -> str:
    """Go's fmt.Sprintf for the verbs alert templates use (%v %s %d %f %g %e %q %x %%)."""
    if not isinstance(fmt, str):
        raise TemplateError("printf needs a format string first")
    values = list(args)
    out: list[str] = []
    pos = 0
    for match in _VERB.finditer(fmt):
        out.append(fmt[pos : match.start()])
        pos = match.end()
        flags, width, precision, verb = match.groups()
        if verb == "%":
            out.append("%")
            continue
        if not values:
            out.append(f"%!{verb}(MISSING)")
            continue
        arg = values.pop(0)
        spec = flags + (width or "") + (f".{precision}" if precision is not None else "")
        out.append(_format_verb(verb, spec, arg))
    out.append(fmt[pos:])
    if values:
        out.append("%!(EXTRA " + ", ".join(f"{type(v).__name__}={_print(v)}" for v in values) + ")")
    return "".join(out)


def _format_verb(verb: str, spec: str, arg: object) -> str:
    if verb in "fFeEgG" and isinstance(arg, (int, float)) and not isinstance(arg, bool):
        v = float(arg)
        if math.isnan(v) or math.isinf(v):
            return _print(v)
        if verb in "gG" and "." not in spec:
            return format_go_float(v)
        return ("%" + spec + verb) % v
    if verb == "d" and isinstance(arg, int):
        return ("%" + spec + "d") % arg
    if verb == "d" and isinstance(arg, float):
        return f"%!d(float64={format_go_float(arg)})"
    if verb in "xX" and isinstance(arg, int):
        return ("%" + spec + verb) % arg
    if verb == "q":
        return '"' + _print(arg).replace("\\", "\\\\").replace('"', '\\"') + '"'
    if verb in "vs":
        text = _print(arg)
        return ("%" + spec + "s") % text if spec else text
    raise TemplateUnsupported(f"printf verb %{verb} with {type(arg).__name__} is not supported")


def _to_str(value: object) -> str:
    return _print(value)


_FUNCTIONS: dict[str, Callable[..., object]] = {
    "humanize": humanize,
    "humanize1024": humanize1024,
    "humanizePercentage": humanize_percentage,
    "humanizeDuration": humanize_duration,
    "printf": printf,
    "toUpper": lambda s: _to_str(s).upper(),
    "toLower": lambda s: _to_str(s).lower(),
    "title": lambda s: _to_str(s).title(),
}
