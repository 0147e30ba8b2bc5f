"""Text, not markup: what a post says, as a reader sees it, for the index and snippets.

Hugo shortcodes and Liquid tags are template code, not text: they are
removed, keeping the text a shortcode wraps and the prose in its ``alt``,
``caption``, ``title`` or ``intro`` arguments. Markdown is parsed by
markdown-it-py (CommonMark, tables) and turned into its text: links keep their
text, images their alt text, code keeps its words. HTML (raw in Markdown, or a
whole ``.html`` post) goes through the standard library's HTML parser: tags
are dropped, ``script`` and ``style`` with their content, entities decoded.

Used at index time only: the Markdown parser is imported on first use, never
on the query path.
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

# Hugo shortcodes: {{< name args >}}, {{% name args %}}, closing forms, and the
# escaped {{</* ... */>}} form that Hugo prints literally (documentation).
_SHORTCODE = re.compile(r"\{\{\s*[<%](.*?)[%>]\s*\}\}", re.DOTALL)
_ARG = re.compile(r"""\b(alt|caption|title|intro|text)\s*=\s*(?:"([^"]*)"|'([^']*)'|`([^`]*)`)""")
# Liquid: {% raw %} keeps what it holds, {% comment %} drops it, other tags
# and {{ output }} go. One pattern, scanned once, so raw text is not rescanned.
_LIQUID = re.compile(
    r"\{%-?\s*raw\s*-?%\}(?P<raw>.*?)\{%-?\s*endraw\s*-?%\}"
    r"|\{%-?\s*comment\s*-?%\}.*?\{%-?\s*endcomment\s*-?%\}"
    r"|(?P<code>\{%-?\s*(?:end)?highlight\b.*?%\})"
    r"|\{%.*?%\}|\{\{.*?\}\}",
    re.DOTALL,
)
# What a truncated excerpt (a summary cut at N characters) leaves open at its
# end: a shortcode or Liquid tag, a Markdown link or an HTML tag.
_CUT_TEMPLATE = re.compile(r"\{[{%]\s*[<%]?[^{}]*$")
_CUT_LINK = re.compile(r"\[([^\[\]]*)\]\([^()\s]*(?:\s+\"[^\"]*\"?)?$")
_CUT_TAG = re.compile(r"<[A-Za-z/][^<>]*$")
_LITERAL_LINK = re.compile(r'\[([^\[\]\n]*)\]\((?:https?:|/|#)[^\s)]*(?:\s+"[^\n]*?")?\)?')
# Characters and line starts that may make Markdown; a text with none of them
# is its own text (no parse). Checked as a character scan, then one regex.
_MARKDOWN_CHARS = "*_`[]<>&#|~\\"
_MARKDOWN_LINES = re.compile(r"^[ \t]*(?:[-+>]|\d+[.)])[ \t]|^ {4}|^[=-]+[ \t]*$", re.M)
# Runs of spaces and tabs and lone other blanks; a single space is left alone
# (replacing every space with itself took a third of the text time).
_SPACES = re.compile(r"[ \t\r\f\v\u00a0]{2,}|[\t\r\f\v\u00a0]")


def strip_templates(text: str, *, hugo: bool = True, liquid: bool = True) -> str:
    """``text`` without Hugo shortcodes and/or Liquid tags (inner text kept)."""
    if hugo and "{{" in text:
        text = _SHORTCODE.sub(_shortcode_text, text)
    if liquid and ("{%" in text or "{{" in text):
        text = _LIQUID.sub(_liquid_text, text)
    return text


def excerpt_text(text: str, *, hugo: bool = True, liquid: bool = True) -> str:
    """A summary's text: like a body's, and what a cut at its end left open is dropped."""
    text = strip_templates(_CUT_TEMPLATE.sub("", text.rstrip()), hugo=hugo, liquid=liquid)
    text = _CUT_TAG.sub("", _CUT_LINK.sub(r"\1", text.rstrip()))
    return markdown_text(text)


# What a `highlight` shortcode or Liquid tag becomes: a fence, so the code in
# it stays code (Markdown would otherwise read "- hosts: web" as a list).
_FENCE = "\n```\n"


def _liquid_text(m: re.Match) -> str:
    if m.group("code"):
        return _FENCE
    return m.group("raw") or " "


def _shortcode_text(m: re.Match) -> str:
    args = m.group(1)
    if args.lstrip().startswith("/*"):  # {{</* x */>}}: a shortcode shown, not run
        return " "
    name = args.split(None, 1)[0] if args.strip() else ""
    if name in ("highlight", "/highlight"):
        return _FENCE
    words = [next(g for g in a.groups()[1:] if g is not None) for a in _ARG.finditer(args)]
    return " " + " ".join(w for w in words if w) + " " if words else " "


def markdown_text(text: str) -> str:
    """The text of a Markdown document (with any raw HTML in it)."""
    if not any(c in text for c in _MARKDOWN_CHARS) and not _MARKDOWN_LINES.search(text):
        return tidy(text)
    pieces: list[str] = []
    has_html = False
    last = ""  # the last leaf block's type
    for tok in _markdown().parse(text):
        kind = tok.type
        if kind == "code_block" and last == "html_block" and tok.content.lstrip()[:1] == "<":
            # Indented HTML after an HTML block: markup that a blank line cut
            # off (CommonMark ends an HTML block there), not a code sample.
            kind = "html_block"
        if tok.nesting == 0:
            last = kind
        if kind == "inline":
            for child in tok.children or ():
                ck = child.type
                if ck in ("text", "image"):  # an image's content: its alt text
                    pieces.append(html.escape(child.content, quote=False))
                elif ck == "code_inline":
                    pieces.append(_code(child.content))
                elif ck in ("softbreak", "hardbreak"):
                    pieces.append("\n")
                elif ck == "html_inline":
                    pieces.append(child.content)
                    has_html = True
        elif kind in ("fence", "code_block"):
            pieces.append(_code(tok.content) + "\n")
        elif kind == "html_block":
            pieces.append(tok.content + "\n")
            has_html = True
        elif tok.nesting == -1 and tok.block:
            pieces.append("\n\n" if kind in _PARAGRAPH_ENDS else " ")
    joined = "".join(pieces)
    if "](" in joined:  # a link Markdown could not parse (a broken title): its text
        joined = _LITERAL_LINK.sub(r"\1", joined)
    # Text pieces were escaped so that HTML between them parses as HTML and a
    # literal "<" in the text stays text; without HTML, unescaping is enough.
    return html_text(joined) if has_html else tidy(html.unescape(joined))


def _code(text: str) -> str:
    # Entities in code are literal in Markdown, but in posts moved from HTML
    # they stand for the characters a reader was meant to see (&lt;html&gt;).
    return html.escape(html.unescape(text), quote=False)


_PARAGRAPH_ENDS = frozenset(
    {"paragraph_close", "heading_close", "list_item_close", "blockquote_close", "tr_close"}
)
_MD = None


def _markdown():
    global _MD
    if _MD is None:
        from markdown_it import MarkdownIt

        _MD = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
    return _MD


class _TextParser(HTMLParser):
    SKIP = frozenset({"script", "style", "template", "noscript", "svg", "math"})
    BLOCK = frozenset(
        {"p", "div", "br", "li", "ul", "ol", "dl", "dt", "dd", "tr", "table", "thead", "tbody",
         "h1", "h2", "h3", "h4", "h5", "h6", "pre", "blockquote", "hr", "section", "article",
         "header", "footer", "aside", "nav", "figure", "figcaption", "details", "summary"}
    )  # fmt: skip
    CELL = frozenset({"td", "th"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIP:
            self.skipping += 1
        elif self.skipping:
            return
        elif tag in self.BLOCK:
            self.out.append("\n")
        elif tag in self.CELL:
            self.out.append(" ")
        elif tag in ("img", "area") or (tag == "input" and dict(attrs).get("type") == "image"):
            alt = dict(attrs).get("alt")
            if alt:
                self.out.append(f" {alt} ")

    def handle_startendtag(self, tag, attrs):
        if tag not in self.SKIP:
            self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag):
        if tag in self.SKIP:
            self.skipping = max(0, self.skipping - 1)
        elif not self.skipping and (tag in self.BLOCK or tag in self.CELL):
            self.out.append("\n" if tag in self.BLOCK else " ")

    def handle_data(self, data):
        if not self.skipping:
            self.out.append(data)


def html_text(markup: str) -> str:
    """The text of an HTML fragment or document: tags dropped, entities decoded."""
    if "<" not in markup:
        return tidy(html.unescape(markup))
    parser = _TextParser()
    parser.feed(markup)
    parser.close()
    return tidy("".join(parser.out))


def inline_text(text: str, *, hugo: bool = True, liquid: bool = True) -> str:
    """A one-line field (a title) as text: templates, HTML tags and entities gone."""
    text = strip_templates(text, hugo=hugo, liquid=liquid)
    if "<" in text or "&" in text:
        text = html_text(text)
    return " ".join(text.split())


def tidy(text: str) -> str:
    """Spaces collapsed, at most one blank line in a row, no space around line ends."""
    out: list[str] = []
    blank = False
    if "  " in text or any(c in text for c in "\t\r\f\v\u00a0"):  # a scan is ~10x faster
        text = _SPACES.sub(" ", text)
    for line in text.split("\n"):
        line = line.strip(" ")
        if not line:
            blank = True
            continue
        if blank and out:
            out.append("")
        out.append(line)
        blank = False
    return "\n".join(out)
