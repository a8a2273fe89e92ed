"""Mastodon's status HTML as plain text, with the standard library's HTML parser."""

from __future__ import annotations

from html.parser import HTMLParser

_BLOCKS = {"p", "div", "blockquote", "pre", "ul", "ol", "li", "h1", "h2", "h3", "h4", "h5", "h6"}


class _TextParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def _break(self, n: int) -> None:
        """End the current line(s): at most ``n`` newlines in a row, none at the start."""
        if not self.parts:
            return
        text = "".join(self.parts)
        have = len(text) - len(text.rstrip("\n"))
        if have < n:
            self.parts.append("\n" * (n - have))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.parts.append("\n")
        elif tag in ("script", "style"):
            self._skip += 1
        elif tag in _BLOCKS:
            self._break(2 if tag != "li" else 1)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip = max(0, self._skip - 1)
        elif tag in _BLOCKS:
            self._break(2 if tag != "li" else 1)

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """Tags dropped, paragraphs as blank lines, ``<br>`` as newlines, entities unescaped."""
    if "<" not in html and "&" not in html:
        return html
    parser = _TextParser()
    parser.feed(html)
    parser.close()
    return "".join(parser.parts).strip("\n")
