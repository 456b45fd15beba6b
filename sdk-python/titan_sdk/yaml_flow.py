"""Flow collections (``[a, b]``, ``{ a: b }``) for yaml_lite, possibly joined from several lines."""

from .yaml_nodes import Node, resolve_plain


class FlowReader:
    """Parses a flow collection joined from its lines, mapping offsets back to line and column."""

    def __init__(self, parser, segments):
        self.parser = parser
        self.starts = []
        parts = []
        offset = 0
        for index, column, text in segments:
            self.starts.append((offset, index, column))
            parts.append(text)
            offset += len(text) + 1
        self.s = " ".join(parts)
        self.p = 0

    def where(self, offset):
        for start, index, column in reversed(self.starts):
            if offset >= start:
                return index + 1, column + offset - start + 1
        return self.starts[0][1] + 1, 1

    def fail(self, message, offset=None):
        line, column = self.where(self.p if offset is None else offset)
        self.parser.fail(message, line, column)

    def skip(self):
        while self.p < len(self.s) and self.s[self.p] == " ":
            self.p += 1

    def document(self):
        node = self.node()
        self.skip()
        if self.p < len(self.s):
            self.fail(f"unexpected text after the closing bracket: {self.s[self.p:][:40]!r}")
        return node

    def node(self):
        self.skip()
        if self.p >= len(self.s):
            self.fail("a value is missing before the end of the line")
        c = self.s[self.p]
        line, column = self.where(self.p)
        if c == "[":
            return self.seq(line, column)
        if c == "{":
            return self.map(line, column)
        return self.scalar(key=False)

    def seq(self, line, column):
        self.p += 1
        items = []
        while True:
            self.skip()
            if self.p >= len(self.s):
                self.fail("unclosed [; close it with ]")
            if self.s[self.p] == "]":
                self.p += 1
                return Node("seq", items, line, column)
            if self.s[self.p] == ",":
                self.fail("an empty item in [ ]; remove the extra comma")
            items.append(self.node())
            self.skip()
            if self.p < len(self.s) and self.s[self.p] == ":":
                self.fail("key: value pairs inside [ ] are not supported; use { } for a map")
            if self.p < len(self.s) and self.s[self.p] == ",":
                self.p += 1
            elif self.p >= len(self.s) or self.s[self.p] != "]":
                self.fail("expected ',' or ']' in the list")

    def map(self, line, column):
        self.p += 1
        pairs = []
        seen = {}
        while True:
            self.skip()
            if self.p >= len(self.s):
                self.fail("unclosed {; close it with }")
            if self.s[self.p] == "}":
                self.p += 1
                return Node("map", pairs, line, column)
            if self.s[self.p] in "[{":
                self.fail("collection keys are not supported; use a plain key")
            if self.s[self.p] == ",":
                self.fail("an empty entry in { }; remove the extra comma")
            key = self.scalar(key=True)
            self.parser.check_duplicate(seen, key)
            self.skip()
            if self.p < len(self.s) and self.s[self.p] == ":":
                self.p += 1
                self.skip()
                if self.p < len(self.s) and self.s[self.p] in ",}":
                    value = Node("scalar", None, key.line, key.column, "")
                else:
                    value = self.node()
            else:
                value = Node("scalar", None, key.line, key.column, "")
            pairs.append((key, value))
            self.skip()
            if self.p < len(self.s) and self.s[self.p] == ",":
                self.p += 1
            elif self.p >= len(self.s) or self.s[self.p] != "}":
                self.fail("expected ',' or '}' in the map")

    def scalar(self, key):
        start = self.p
        line, column = self.where(start)
        c = self.s[start]
        if c in "\"'":
            value, end = self.parser.quoted(self.s, start, line, column - start - 1)
            self.p = end
            return Node("scalar", value, line, column)
        self.parser.check_plain_start(self.s[start:], line, column)
        j = start
        while j < len(self.s):
            ch = self.s[j]
            if ch in ",[]{}":
                break
            if ch == ":" and (j + 1 == len(self.s) or self.s[j + 1] in " ,[]{}"):
                break
            j += 1
        text = self.s[start:j].rstrip(" ")
        if text == "":
            self.fail("a value is missing")
        if not key and j < len(self.s) and self.s[j] in "[{":
            self.fail(f"unexpected {self.s[j]!r} inside a plain value; quote the value", j)
        self.p = start + len(text)
        return Node("scalar", resolve_plain(text), line, column, text)
