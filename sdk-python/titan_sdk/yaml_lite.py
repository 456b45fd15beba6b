"""A small, strict YAML reader for pipeline files (the standard library has none).

Understood: block mappings and sequences (also a sequence at its parent key's indentation and
compact ``- key: value`` items), flow mappings and lists (``{ a: b, c: [x, y] }``, also spread
over several lines), plain, single- and double-quoted scalars resolved with the YAML 1.2 core
schema (null, booleans, ints, floats, strings), ``|`` and ``>`` block scalars with ``-``/``+``
chomping, comments, one document (a leading ``---`` and a trailing ``...`` are accepted).

Refused with a YamlError naming the line (and column): anchors, aliases and merge keys, tags,
directives, complex keys (``? ``), tabs outside quoted strings, multi-line plain or quoted scalars,
several documents, duplicate keys, and anything else a real YAML parser might read differently.
"""

import re

from .yaml_flow import FlowReader
from .yaml_nodes import ESCAPES, HEX_ESCAPES, Node, YamlError, depth, fold, quote_can_start, resolve_plain

__all__ = ["YamlError", "Node", "parse", "loads", "load", "resolve_plain"]


def parse(text, source=None):
    """The document as a Node tree (None when it is empty)."""
    return _Parser(text, source).document()


def loads(text, source=None):
    """The document as plain Python values (dicts, lists, str, int, float, bool, None)."""
    node = parse(text, source)
    return None if node is None else node.to_python()


def load(path):
    with open(path, encoding="utf-8") as f:
        return loads(f.read(), source=str(path))


def _is_seq_item(text):
    return text == "-" or text.startswith("- ")


class _Parser:
    def __init__(self, text, source):
        self.source = source
        self.lines = [line[:-1] if line.endswith("\r") else line for line in text.lstrip("\ufeff").split("\n")]
        self.i = 0
        self.virtual = None  # (index, column, text) standing in for the current line after "- "

    def fail(self, message, line, column=1):
        raise YamlError(message, line, column, self.source)

    # -- lines ------------------------------------------------------------------------------

    def content(self, index):
        """(indent, text without comment) of a raw line, or None when it is blank or only a comment."""
        raw = self.lines[index]
        stripped = raw.strip(" \t")
        if stripped == "" or stripped.startswith("#"):
            return None
        indent = len(raw) - len(raw.lstrip(" "))
        if raw[indent] == "\t":
            self.fail("tab character in the indentation; YAML indents with spaces only", index + 1, indent + 1)
        text = raw[indent:]
        quote = None
        j = 0
        while j < len(text):
            ch = text[j]
            if quote is None:
                if ch == "#" and (j == 0 or text[j - 1] == " "):
                    text = text[:j]
                    break
                if ch == "\t":
                    self.fail("tab character; use spaces (tabs are allowed only inside quoted strings)", index + 1, indent + j + 1)
                if ch in "\"'" and quote_can_start(text, j):
                    quote = ch
            elif quote == '"':
                if ch == "\\":
                    j += 1
                elif ch == '"':
                    quote = None
            elif ch == "'":
                if j + 1 < len(text) and text[j + 1] == "'":
                    j += 1
                else:
                    quote = None
            j += 1
        return indent, text.rstrip(" ")

    def peek(self):
        """(index, indent, text) of the next meaningful line, or None at the end of the document."""
        if self.virtual is not None:
            return self.virtual
        while self.i < len(self.lines):
            found = self.content(self.i)
            if found is not None:
                indent, text = found
                if indent == 0 and (text in ("---", "...") or text.startswith("--- ")):
                    return None  # the end of the document; document() says what follows is refused
                return self.i, indent, text
            self.i += 1
        return None

    def advance(self):
        self.virtual = None
        self.i += 1

    # -- document ---------------------------------------------------------------------------

    def document(self):
        self.skip_blank()
        if self.i < len(self.lines):
            first = self.content(self.i)
            if first[1].startswith("%"):
                self.fail("directives (%YAML, %TAG) are not supported; remove the line", self.i + 1)
            if first[0] == 0 and first[1] == "---":
                self.i += 1
            elif first[0] == 0 and first[1].startswith("--- "):
                self.fail("content on the --- line is not supported; start it on the next line", self.i + 1)
        node = None if self.peek() is None else self.node(-1)
        self.skip_blank()
        if self.i < len(self.lines):
            indent, text = self.content(self.i)
            if indent == 0 and text == "...":
                self.i += 1
                self.skip_blank()
                if self.i >= len(self.lines):
                    return node
            if indent == 0 and (text == "---" or text.startswith("--- ")):
                self.fail("a second document (---) is not supported; one pipeline per file", self.i + 1)
            self.fail(f"unexpected content at indentation {indent}; check the indentation of this line", self.i + 1, indent + 1)
        return node

    def skip_blank(self):
        while self.i < len(self.lines) and self.content(self.i) is None:
            self.i += 1

    # -- block nodes -------------------------------------------------------------------------

    def node(self, parent_indent):
        """The block node starting at the next line (indented more than parent_indent)."""
        index, indent, text = self.peek()
        if _is_seq_item(text):
            return self.sequence(indent)
        if self.split_key(index, indent, text) is not None:
            return self.mapping(indent)
        node = self.inline(index, indent, text, parent_indent)
        if parent_indent >= 0:
            self.check_no_deeper(parent_indent)
        return node

    def check_no_deeper(self, indent):
        """After a one-line value of a collection at indent, the next line may not be indented deeper."""
        nxt = self.peek()
        if nxt is not None and nxt[1] > indent:
            self.fail(
                "unexpected indentation; a value cannot continue on the next line "
                "(multi-line plain scalars are not supported: quote the value, or use | or >)",
                nxt[0] + 1, nxt[1] + 1,
            )

    def sequence(self, indent):
        first = self.peek()
        items = []
        while True:
            cur = self.peek()
            if cur is None or cur[1] < indent:
                break
            index, cur_indent, text = cur
            if cur_indent > indent:
                self.fail("unexpected indentation inside a list; align the items' dashes", index + 1, cur_indent + 1)
            if not _is_seq_item(text):
                break
            rest = text[1:].lstrip(" ")
            if rest == "":
                self.advance()
                nxt = self.peek()
                if nxt is not None and nxt[1] > indent:
                    items.append(self.node(indent))
                else:
                    items.append(Node("scalar", None, index + 1, cur_indent + 2, ""))
            else:
                column = cur_indent + len(text) - len(rest)
                self.virtual = (index, column, rest)
                items.append(self.node(indent))
        return Node("seq", items, first[0] + 1, first[1] + 1)

    def mapping(self, indent):
        first = self.peek()
        pairs = []
        seen = {}
        while True:
            cur = self.peek()
            if cur is None or cur[1] < indent:
                break
            index, cur_indent, text = cur
            if cur_indent > indent:
                self.fail("unexpected indentation; align this key with the keys above it", index + 1, cur_indent + 1)
            if _is_seq_item(text):
                self.fail("a list item where a key was expected; indent the list under its key", index + 1, cur_indent + 1)
            split = self.split_key(index, indent, text)
            if split is None:
                self.fail(f"expected 'key: value', got {text[:40]!r}", index + 1, cur_indent + 1)
            key, rest, rest_column = split
            self.check_duplicate(seen, key)
            if rest == "":
                self.advance()
                nxt = self.peek()
                if nxt is not None and (nxt[1] > indent or (nxt[1] == indent and _is_seq_item(nxt[2]))):
                    value = self.node(indent)
                else:
                    value = Node("scalar", None, index + 1, rest_column + 1, "")
            else:
                value = self.inline(index, rest_column, rest, indent)
                self.check_no_deeper(indent)
            pairs.append((key, value))
        return Node("map", pairs, first[0] + 1, first[1] + 1)

    def check_duplicate(self, seen, key):
        try:
            ident = key.to_python()
            hash(ident)
        except TypeError:
            return
        if ident in seen:
            self.fail(f"duplicate key {ident!r} (first at line {seen[ident]}); keep one", key.line, key.column)
        seen[ident] = key.line

    def split_key(self, index, indent, text):
        """(key Node, rest, rest column) when the line is 'key: ...', else None."""
        line = index + 1
        if text[0] in "\"'":
            value, end = self.quoted(text, 0, line, indent)
            j = end
            while j < len(text) and text[j] == " ":
                j += 1
            if j < len(text) and text[j] == ":" and (j + 1 == len(text) or text[j + 1] == " "):
                rest = text[j + 1:].lstrip(" ")
                return Node("scalar", value, line, indent + 1), rest, indent + len(text) - len(rest)
            return None
        if text[0] in "[{":
            return None
        if text == "?" or text.startswith("? "):
            self.fail("complex keys ('? ') are not supported; use a plain key", line, indent + 1)
        j = 0
        while True:
            j = text.find(":", j)
            if j < 0:
                return None
            if j + 1 == len(text) or text[j + 1] == " ":
                break
            j += 1
        key_text = text[:j].rstrip(" ")
        if key_text == "":
            self.fail("a key is missing before ':'", line, indent + 1)
        self.check_plain_start(key_text, line, indent + 1)
        rest = text[j + 1:].lstrip(" ")
        key = Node("scalar", resolve_plain(key_text), line, indent + 1, key_text)
        return key, rest, indent + len(text) - len(rest)

    def check_plain_start(self, text, line, column):
        c = text[0]
        if c == "&":
            self.fail("anchors (&name) are not supported; write the value out", line, column)
        if c == "*":
            self.fail("aliases (*name) and merge keys are not supported; write the value out", line, column)
        if c == "!":
            self.fail("tags (!tag, !!type) are not supported; pipelines use plain values", line, column)
        if c in "@`%":
            self.fail(f"a plain value cannot start with {c!r}; quote it", line, column)
        if c in "]},":
            self.fail(f"unexpected {c!r}; quote the value if it is text", line, column)

    # -- values on one line ------------------------------------------------------------------

    def inline(self, index, column, text, parent_indent):
        """The value written at column of the line (block scalar, flow collection or scalar); consumes its lines."""
        line = index + 1
        c = text[0]
        if c in "|>":
            return self.block_scalar(index, column, text, parent_indent)
        if c in "[{":
            return self.flow(index, column, text)
        if c in "\"'":
            value, end = self.quoted(text, 0, line, column)
            if end != len(text):
                self.fail(f"unexpected text after the closing quote: {text[end:][:40]!r}", line, column + end + 1)
            self.advance()
            return Node("scalar", value, line, column + 1)
        self.check_plain_start(text, line, column + 1)
        if _is_seq_item(text):
            self.fail("a list cannot start on the same line as its key; put each '- item' on its own line below", line, column + 1)
        if text == "?" or text.startswith("? "):
            self.fail("complex keys ('? ') are not supported; use a plain key", line, column + 1)
        if ": " in text or text.endswith(":"):
            self.fail("':' followed by a space inside a plain value; quote the value", line, column + text.find(":") + 1)
        self.advance()
        return Node("scalar", resolve_plain(text), line, column + 1, text)

    def quoted(self, text, start, line, column):
        """(value, index after the closing quote) of the quoted scalar starting at text[start]."""
        q = text[start]
        out = []
        j = start + 1
        while j < len(text):
            ch = text[j]
            if q == "'":
                if ch == "'":
                    if j + 1 < len(text) and text[j + 1] == "'":
                        out.append("'")
                        j += 2
                        continue
                    return "".join(out), j + 1
                out.append(ch)
                j += 1
                continue
            if ch == '"':
                return "".join(out), j + 1
            if ch == "\\":
                if j + 1 >= len(text):
                    break
                esc = text[j + 1]
                if esc in ESCAPES:
                    out.append(ESCAPES[esc])
                    j += 2
                    continue
                if esc in HEX_ESCAPES:
                    digits = text[j + 2:j + 2 + HEX_ESCAPES[esc]]
                    if len(digits) != HEX_ESCAPES[esc] or not all(d in "0123456789abcdefABCDEF" for d in digits):
                        self.fail(f"bad escape \\{esc}{digits} in a double-quoted string", line, column + j + 1)
                    out.append(chr(int(digits, 16)))
                    j += 2 + len(digits)
                    continue
                self.fail(f"unknown escape \\{esc} in a double-quoted string; write \\\\ for a backslash", line, column + j + 1)
            out.append(ch)
            j += 1
        self.fail(
            f"unclosed {q} quote; a quoted string must end on the same line (multi-line strings: use | or >)",
            line, column + start + 1,
        )

    def block_scalar(self, index, column, header, parent_indent):
        line = index + 1
        m = re.match(r"^([|>])([-+]?)$", header)
        if m is None:
            self.fail(f"block scalar header {header!r} is not supported; use |, |-, |+, >, >- or >+", line, column + 1)
        style, chomp = m.group(1), m.group(2)
        self.advance()
        body = []
        content_indent = None
        while self.i < len(self.lines):
            raw = self.lines[self.i]
            if raw.strip(" ") == "":
                body.append("")
                self.i += 1
                continue
            indent = len(raw) - len(raw.lstrip(" "))
            if content_indent is None:
                if indent <= parent_indent:
                    break
                content_indent = indent
            if indent < content_indent:
                break
            body.append(raw[content_indent:])
            self.i += 1
        trailing = 0
        while body and body[-1] == "":
            body.pop()
            trailing += 1
        text = "\n".join(body) if style == "|" else fold(body)
        if body:
            if chomp == "":
                text += "\n"
            elif chomp == "+":
                text += "\n" * (trailing + 1)
        elif chomp == "+":
            text = "\n" * trailing
        return Node("scalar", text, line, column + 1)

    def flow(self, index, column, text):
        """A flow collection, which may go on over the following lines until its brackets close."""
        segments = [(index, column, text)]
        open_brackets = depth(text)
        self.advance()
        while open_brackets > 0:
            if self.i >= len(self.lines):
                self.fail(f"unclosed {text[0]} (opened here); close it with {']' if text[0] == '[' else '}'}", index + 1, column + 1)
            found = self.content(self.i)
            if found is not None:
                segments.append((self.i, found[0], found[1]))
                open_brackets += depth(found[1])
            self.i += 1
        return FlowReader(self, segments).document()
