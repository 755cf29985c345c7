"""Prometheus-style annotation templates, parsed at load time and rendered without eval.

Supported, as in Prometheus alerting rules (Go ``text/template``):

- text with ``{{ ... }}`` actions; ``{{-`` and ``-}}`` trim the whitespace beside them;
  ``{{/* comments */}}``;
- ``$labels.<name>`` (or ``.Labels.<name>``): a label of the result series, "" when absent;
  ``$value`` (or ``.Value``): the series' value;
- string and number literals, pipelines ``a | f``, and the functions ``humanize``,
  ``humanize1024``, ``humanizePercentage``, ``humanizeDuration``, ``printf``, ``toUpper``,
  ``toLower`` and ``title``.

Nothing else: no ``if``/``range``, no variables of one's own, no ``query``. An unknown
variable, function or ``printf`` verb is a :class:`TemplateError` when the rule loads.
Numbers print as Go prints a float64 (``1.5e+06``). ``printf`` takes the verbs ``%v %s %q
%d %f %F %e %E %g %G`` and ``%%``; unlike Go, ``%d`` prints a number truncated to an integer
and ``%s`` prints a number as ``%v`` does, instead of Go's ``%!d(float64=…)`` marks.

Examples
--------
>>> t = parse_template("{{ $labels.model }} errors at {{ $value | humanizePercentage }}")
>>> t.render(labels={"model": "churn"}, value=0.0321)
'churn errors at 3.21%'
>>> parse_template("{{ $value | humanise }}")
Traceback (most recent call last):
...
monitor.alerting.templating.TemplateError: unknown function 'humanise' at character 13 of \
'{{ $value | humanise }}'; did you mean 'humanize'?
"""

from __future__ import annotations

import difflib
import logging
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal

__all__ = ["FUNCTIONS", "Template", "TemplateError", "go_float", "parse_template"]

log = logging.getLogger(__name__)

_VERB = re.compile(r"%([-+# 0]*)(\d*)(?:\.(\d*))?(.)")
_VERBS = set("vsqdfFeEgG")
_BLOCKS = {"if", "else", "end", "range", "with", "define", "template", "block", "break",
           "continue"}
_VARIABLES = ("$labels", "$value", ".Labels", ".Value")
_TOKEN = re.compile(r"""\s*(?:(?P<pipe>\|)|(?P<str>"(?:[^"\\]|\\.)*"|`[^`]*`)
                    |(?P<num>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)
                    |(?P<var>\$[A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*|(?:\.[A-Za-z0-9_]+)+)
                    |(?P<ident>[A-Za-z_][A-Za-z0-9_]*)|(?P<other>\S))""", re.X)


class TemplateError(ValueError):
    """A template that does not parse; says the 1-based character and what is wrong."""

    def __init__(self, text: str, offset: int, problem: str, hint: str = "") -> None:
        self.text, self.offset, self.problem, self.hint = text, offset, problem, hint
        message = f"{problem} at character {offset + 1} of {text!r}"
        super().__init__(message + (f"; {hint}" if hint else ""))


class _RenderError(Exception):
    pass


Value = str | float


@dataclass(frozen=True, slots=True)
class _Operand:
    kind: str  # "label", "value" or "literal"
    literal: Value = ""


@dataclass(frozen=True, slots=True)
class _Call:
    function: str
    args: tuple[_Operand, ...]


_Pipeline = tuple[_Operand | _Call, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Template:
    """A parsed template; :meth:`render` fills it for one series."""

    text: str
    parts: tuple[str | _Pipeline, ...]

    def __str__(self) -> str:
        return self.text

    def render(self, *, labels: Mapping[str, str], value: float) -> str:
        """Return the text for one series; a failing call gives Prometheus' error text."""
        out: list[str] = []
        try:
            for part in self.parts:
                out.append(part if isinstance(part, str)
                           else _show(_run(part, labels, value)))
        except _RenderError as exc:
            log.warning("template %r failed for %s: %s", self.text, dict(labels), exc)
            return f"<error expanding template: {exc}>"
        return "".join(out)


def parse_template(text: str) -> Template:
    """Parse *text*; raise :class:`TemplateError` saying where it went wrong."""
    parts: list[str | _Pipeline] = []
    pos = 0
    while True:
        start = text.find("{{", pos)
        if start < 0:
            parts.append(text[pos:])
            break
        end = text.find("}}", start + 2)
        if end < 0:
            raise TemplateError(text, start, "unclosed action", "close it with }}")
        inner_start, inner_end = start + 2, end
        literal = text[pos:start]
        if text.startswith("- ", inner_start) or text.startswith("-\t", inner_start):
            literal, inner_start = literal.rstrip(), inner_start + 1
        pos = end + 2
        if text[inner_end - 1:inner_end] == "-" and text[inner_end - 2:inner_end - 1].isspace():
            inner_end -= 1
            while pos < len(text) and text[pos].isspace():
                pos += 1
        parts.append(literal)
        body = text[inner_start:inner_end]
        if body.strip().startswith("/*"):
            if not body.strip().endswith("*/"):
                raise TemplateError(text, inner_start, "unclosed comment", "end it with */}}")
            continue
        parts.append(_Parser(text, inner_start, body).pipeline())
    return Template(text=text, parts=tuple(p for p in parts if p != ""))


class _Parser:
    def __init__(self, text: str, offset: int, body: str) -> None:
        self.text, self.offset = text, offset
        self.tokens = [(m.lastgroup or "", m.group(m.lastgroup or 0), offset + m.start(
            m.lastgroup or 0)) for m in _TOKEN.finditer(body) if m.lastgroup]

    def fail(self, at: int, problem: str, hint: str = "") -> TemplateError:
        return TemplateError(self.text, at, problem, hint)

    def pipeline(self) -> _Pipeline:
        if not self.tokens:
            raise self.fail(self.offset, "empty action", "write e.g. {{ $value }}")
        commands: list[list[tuple[str, str, int]]] = [[]]
        for token in self.tokens:
            if token[0] == "pipe":
                commands.append([])
            else:
                commands[-1].append(token)
        out: list[_Operand | _Call] = []
        for i, command in enumerate(commands):
            if not command:
                at = self.tokens[-1][2] + 1 if i else self.offset
                raise self.fail(at, "expected a function after '|'" if i else
                                "expected a value before '|'")
            out.append(self.command(command, piped=i > 0))
        return tuple(out)

    def command(self, tokens: list[tuple[str, str, int]], *, piped: bool) -> _Operand | _Call:
        kind, word, at = tokens[0]
        if kind != "ident":
            if piped:
                raise self.fail(at, f"expected a function after '|', found {word!r}")
            if len(tokens) > 1:
                raise self.fail(tokens[1][2], f"unexpected {tokens[1][1]!r} after {word!r}",
                                "put functions first, e.g. {{ humanize $value }}")
            return self.operand(tokens[0])
        if word in _BLOCKS:
            raise self.fail(at, f"{{{{ {word} }}}} is not supported",
                            "templates here print $labels and $value through functions")
        if word not in FUNCTIONS:
            close = [f"${word}"] if f"${word}" in _VARIABLES else difflib.get_close_matches(
                word, sorted(FUNCTIONS), n=1, cutoff=0.6)
            hint = (f"did you mean {close[0]!r}?" if close
                    else "functions: " + ", ".join(sorted(FUNCTIONS)))
            raise self.fail(at, f"unknown function {word!r}", hint)
        args = tuple(self.operand(t) for t in tokens[1:])
        self.check_arity(word, args, at, piped)
        return _Call(word, args)

    def check_arity(self, function: str, args: tuple[_Operand, ...], at: int,
                    piped: bool) -> None:
        given = len(args) + piped
        if function != "printf":
            if given != 1:
                raise self.fail(at, f"{function} takes 1 value, got {given}")
            return
        if not args or args[0].kind != "literal" or not isinstance(args[0].literal, str):
            raise self.fail(at, "printf needs a quoted format first",
                            'write e.g. {{ printf "%.2f" $value }}')
        verbs = 0
        for match in _VERB.finditer(args[0].literal):
            if match.group(4) == "%":
                continue
            if match.group(4) not in _VERBS:
                raise self.fail(at, f"unsupported printf verb {match.group(0)!r}",
                                "use one of %v %s %q %d %f %e %g")
            verbs += 1
        if verbs != given - 1:
            raise self.fail(at, f"printf format {args[0].literal!r} takes {verbs} "
                            f"value{'s' if verbs != 1 else ''}, got {given - 1}")

    def operand(self, token: tuple[str, str, int]) -> _Operand:
        kind, word, at = token
        if kind == "str":
            return _Operand("literal", _unquote(word))
        if kind == "num":
            return _Operand("literal", float(word))
        if kind == "var":
            head, _, field = word.partition(".") if word.startswith("$") else (
                word[1:].partition("."))
            head = head if word.startswith("$") else f".{head}"
            if head in ("$value", ".Value") and not field:
                return _Operand("value")
            if head in ("$labels", ".Labels"):
                if field and "." not in field:
                    return _Operand("label", field)
                raise self.fail(at, f"{word} needs one label name", "write e.g. $labels.model")
            close = difflib.get_close_matches(head, _VARIABLES, n=1, cutoff=0.5)
            hint = (f"did you mean {close[0]!r}?" if close
                    else "variables: " + ", ".join(_VARIABLES))
            raise self.fail(at, f"unknown variable {word!r}", hint)
        if kind == "ident":
            raise self.fail(at, f"{word!r} must come first in its part of the pipeline",
                            "write e.g. {{ $value | humanize }}")
        raise self.fail(at, f"unexpected {word!r}",
                        "write e.g. {{ $labels.model }} or {{ $value | humanize }}")


def _unquote(word: str) -> str:
    if word.startswith("`"):
        return word[1:-1]
    escapes = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "'": "'"}
    return re.sub(r"\\(.)", lambda m: escapes.get(m.group(1), m.group(0)), word[1:-1])


# -- rendering -------------------------------------------------------------------------------

def _run(pipeline: _Pipeline, labels: Mapping[str, str], value: float) -> Value:
    result: Value | None = None
    for command in pipeline:
        if isinstance(command, _Operand):
            result = _resolve(command, labels, value)
            continue
        args = [_resolve(a, labels, value) for a in command.args]
        if result is not None:
            args.append(result)
        result = FUNCTIONS[command.function](*args)
    assert result is not None
    return result


def _resolve(operand: _Operand, labels: Mapping[str, str], value: float) -> Value:
    if operand.kind == "value":
        return value
    if operand.kind == "label":
        return labels.get(str(operand.literal), "")
    return operand.literal


def _show(value: Value) -> str:
    return value if isinstance(value, str) else go_float(value)


def go_float(value: float) -> str:
    """Return *value* as Go's ``fmt`` prints a float64 with ``%v`` (shortest, ``1e+06``).

    Examples
    --------
    >>> [go_float(v) for v in (0.25, 123456.0, 1234567.0, 0.00001, float("inf"))]
    ['0.25', '123456', '1.234567e+06', '1e-05', '+Inf']
    """
    if math.isnan(value) or math.isinf(value):
        return _go_special(value)
    if value == 0:
        return "-0" if math.copysign(1, value) < 0 else "0"
    sign, digits, exponent = Decimal(repr(value)).normalize().as_tuple()
    assert isinstance(exponent, int)
    text = "".join(map(str, digits))
    exp = len(text) + exponent - 1
    prefix = "-" if sign else ""
    # strconv.FormatFloat(v, 'g', -1, 64): shortest digits, %e form when exp < -4 or >= 6.
    if exp < -4 or exp >= 6:
        mantissa = text[0] + ("." + text[1:] if len(text) > 1 else "")
        return f"{prefix}{mantissa}e{'-' if exp < 0 else '+'}{abs(exp):02d}"
    if exp < 0:
        return f"{prefix}0.{'0' * (-exp - 1)}{text}"
    whole, fraction = text[:exp + 1].ljust(exp + 1, "0"), text[exp + 1:]
    return prefix + whole + (f".{fraction}" if fraction else "")


def _go_special(value: float) -> str:
    return "NaN" if math.isnan(value) else ("+Inf" if value > 0 else "-Inf")


def _g4(value: float) -> str:
    """Go's ``%.4g``."""
    if math.isnan(value) or math.isinf(value):
        return _go_special(value)
    return f"{value:.4g}"


def _number(value: Value) -> float:
    if isinstance(value, float):
        return value
    try:
        return float(value)
    except ValueError:
        raise _RenderError(f"cannot convert {value!r} to a number") from None


def humanize(value: Value) -> str:
    """Return *value* with an SI prefix, 4 significant digits (Prometheus ``humanize``)."""
    v = _number(value)
    if v == 0 or math.isnan(v) or math.isinf(v):
        return _g4(v)
    prefix = ""
    if abs(v) >= 1:
        for p in ("k", "M", "G", "T", "P", "E", "Z", "Y"):
            if abs(v) < 1000:
                break
            prefix, v = p, v / 1000
    else:
        for p in ("m", "u", "n", "p", "f", "a", "z", "y"):
            if abs(v) >= 1:
                break
            prefix, v = p, v * 1000
    return _g4(v) + prefix


def humanize1024(value: Value) -> str:
    """Return *value* with a binary prefix (Prometheus ``humanize1024``)."""
    v = _number(value)
    if abs(v) <= 1 or math.isnan(v) or math.isinf(v):
        return _g4(v)
    prefix = ""
    for p in ("ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"):
        if abs(v) < 1024:
            break
        prefix, v = p, v / 1024
    return _g4(v) + prefix


def humanize_percentage(value: Value) -> str:
    """Return a ratio as a percentage (Prometheus ``humanizePercentage``)."""
    return _g4(_number(value) * 100) + "%"


def humanize_duration(value: Value) -> str:
    """Return seconds as ``1d 2h 3m 4s`` (Prometheus ``humanizeDuration``)."""
    v = _number(value)
    if math.isnan(v) or math.isinf(v):
        return _g4(v)
    if v == 0:
        return _g4(v) + "s"
    if abs(v) >= 1:
        sign = "-" if v < 0 else ""
        whole = int(abs(v))
        days, hours = whole // 86400, whole // 3600 % 24
        minutes, seconds = whole // 60 % 60, whole % 60
        if days:
            return f"{sign}{days}d {hours}h {minutes}m {seconds}s"
        if hours:
            return f"{sign}{hours}h {minutes}m {seconds}s"
        if minutes:
            return f"{sign}{minutes}m {seconds}s"
        return f"{sign}{_g4(abs(v))}s"
    prefix = ""
    for p in ("m", "u", "n", "p", "f", "a", "z", "y"):
        if abs(v) >= 1:
            break
        prefix, v = p, v * 1000
    return f"{_g4(v)}{prefix}s"


def printf(fmt: Value, *args: Value) -> str:
    """Format like Go's ``fmt.Sprintf`` for the verbs this module supports."""
    values = iter(args)

    def one(match: re.Match[str]) -> str:
        flags, width, precision, verb = match.groups()
        if verb == "%":
            return "%"
        arg = next(values, None)
        if arg is None:
            return f"%!{verb}(MISSING)"
        spec = f"%{flags}{width}" + (f".{precision or 0}" if precision is not None else "")
        if verb in "sv":
            return (spec + "s") % _show(arg)
        if verb == "q":
            text = _show(arg).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
            return (spec + "s") % f'"{text}"'
        number = _number(arg)
        if math.isnan(number) or math.isinf(number):
            return (f"%{flags}{width}s") % _go_special(number)
        if verb == "d":
            return (spec + "d") % int(number)
        if verb in "gG" and precision is None:
            return (f"%{flags}{width}s") % go_float(number)
        return (spec + verb) % number

    return _VERB.sub(one, str(fmt))


FUNCTIONS: dict[str, Callable[..., str]] = {
    "humanize": humanize,
    "humanize1024": humanize1024,
    "humanizePercentage": humanize_percentage,
    "humanizeDuration": humanize_duration,
    "printf": printf,
    "toUpper": lambda v: _show(v).upper(),
    "toLower": lambda v: _show(v).lower(),
    "title": lambda v: re.sub(r"\b[a-z]", lambda m: m.group(0).upper(), _show(v)),
}
