"""The values yaml_lite produces, its error, and the scalar rules it shares with the flow reader."""

import re

from .errors import E_INVALID_REQUEST, TitanError


class YamlError(TitanError):
    """A construct this reader refuses or a syntax error, with its 1-based line and column."""

    def __init__(self, message, line, column=1, source=None):
        where = f"{source}:{line}" if source else f"line {line}"
        super().__init__(E_INVALID_REQUEST, f"{where}: {message}")
        self.line = line
        self.column = column
        self.reason = message


class Node:
    """A parsed value with where it was: kind is 'map' (value: list of (key Node, value Node)), 'seq' or 'scalar'."""

    __slots__ = ("kind", "value", "line", "column", "source")

    def __init__(self, kind, value, line, column, source=None):
        self.kind = kind
        self.value = value
        self.line = line
        self.column = column
        self.source = source  # for scalars: the text as written (quoted ones: None)

    def to_python(self):
        if self.kind == "map":
            return {k.to_python(): v.to_python() for k, v in self.value}
        if self.kind == "seq":
            return [item.to_python() for item in self.value]
        return self.value

    def get(self, key):
        """The value Node under a string key of a map, else None."""
        for k, v in self.value if self.kind == "map" else ():
            if k.value == key:
                return v
        return None

    def __repr__(self):
        return f"Node({self.kind}, {self.to_python()!r}, line={self.line})"


_INT = re.compile(r"^[-+]?[0-9]+$")
_OCT = re.compile(r"^0o[0-7]+$")
_HEX = re.compile(r"^0x[0-9a-fA-F]+$")
_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
_INF = re.compile(r"^[-+]?\.(inf|Inf|INF)$")
_NAN = re.compile(r"^\.(nan|NaN|NAN)$")
ESCAPES = {
    "0": "\0", "a": "\a", "b": "\b", "t": "\t", "\t": "\t", "n": "\n", "v": "\v", "f": "\f", "r": "\r",
    "e": "\x1b", " ": " ", '"': '"', "/": "/", "\\": "\\", "N": "\x85", "_": "\xa0", "L": "\u2028", "P": "\u2029",
}
HEX_ESCAPES = {"x": 2, "u": 4, "U": 8}


def resolve_plain(text):
    """A plain scalar's value under the YAML 1.2 core schema."""
    if text in ("", "~", "null", "Null", "NULL"):
        return None
    if text in ("true", "True", "TRUE"):
        return True
    if text in ("false", "False", "FALSE"):
        return False
    if _INT.match(text):
        return int(text)
    if _OCT.match(text):
        return int(text[2:], 8)
    if _HEX.match(text):
        return int(text[2:], 16)
    if _FLOAT.match(text):
        return float(text)
    if _INF.match(text):
        return float("-inf") if text.startswith("-") else float("inf")
    if _NAN.match(text):
        return float("nan")
    return text


def quote_can_start(text, j):
    """Whether a quote at j opens a quoted scalar (it does at the start of a value, not inside a plain one)."""
    k = j - 1
    while k >= 0 and text[k] == " ":
        k -= 1
    if k < 0 or text[k] in "[{,:":
        return True
    return text[k] in "-?" and j > k + 1


def depth(text):
    depth = 0
    quote = None
    j = 0
    while j < len(text):
        ch = text[j]
        if quote is None:
            if ch in "[{":
                depth += 1
            elif ch in "]}":
                depth -= 1
            elif ch in "\"'" and quote_can_start(text, j):
                quote = ch
        elif quote == '"' and ch == "\\":
            j += 1
        elif ch == quote:
            if quote == "'" and j + 1 < len(text) and text[j + 1] == "'":
                j += 1
            else:
                quote = None
        j += 1
    return depth


def fold(lines):
    """Folds the lines of a > block scalar: single breaks between text lines become spaces."""
    out = ""
    breaks = 0
    prev = None
    for line in lines:
        if line == "":
            breaks += 1
            continue
        more = line.startswith(" ")
        if prev is None:
            out = "\n" * breaks + line
        elif breaks == 0:
            out += ("\n" if more or prev == "more" else " ") + line
        else:
            out += "\n" * (breaks + (1 if more or prev == "more" else 0)) + line
        breaks = 0
        prev = "more" if more else "text"
    return out
