"""A report's content as blocks, written out as Markdown or as one self-contained HTML page.

A block is (kind, payload): ("h1"|"h2"|"h3", text), ("p", text), ("list", [lines]),
("table", DataFrame), ("figure", (file name, caption)). Text may carry the two inline marks the
reports use, **bold** and `code`; HTML renders them, Markdown keeps them.
"""
from __future__ import annotations

import html
import re

import pandas as pd

from benchmark.report.tables import markdown_table

STYLESHEET = """
body{font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;
  color:#1f2328;background:#fff;max-width:72rem;margin:2rem auto;padding:0 1.25rem}
p,li,figcaption{max-width:48rem}
h1,h2,h3{line-height:1.25;margin:1.8em 0 .5em}
h2{border-bottom:1px solid #d0d7de;padding-bottom:.25em}
code{font:.9em ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:#f6f8fa;padding:.1em .3em;border-radius:4px}
table{border-collapse:collapse;margin:1em 0;font-size:.85rem;font-variant-numeric:tabular-nums;max-width:100%}
th,td{border:1px solid #d0d7de;padding:.3em .6em;text-align:left;vertical-align:top}
th{background:#eef1f4}
.method{min-width:13em}
.args{white-space:nowrap}
tbody tr:nth-child(even){background:#f6f8fa}
figure{margin:1.5em 0}
figure img{display:block;max-width:100%;height:auto}
figcaption{font-size:.9rem;color:#57606a;margin-top:.4em}
""".strip()
"""Embedded in every page: no external resources, so a report opens offline. Tables are laid out
by the browser to the page's width (no scrolling box that would hide columns): their cells wrap
at spaces and at the hyphens of task names, a method name between its name and its variant's
arguments (`cell_html`)."""

_BOLD = re.compile(r"\*\*(.+?)\*\*")
_CODE = re.compile(r"`([^`]+)`")


def inline_html(text: str) -> str:
    """Escaped text with **bold** and `code` as <strong> and <code>."""
    escaped = html.escape(str(text), quote=False)
    return _BOLD.sub(r"<strong>\1</strong>", _CODE.sub(r"<code>\1</code>", escaped))


_ARGS = re.compile(r"(\w?)(\[[A-Za-z][^\s]*\])")
"""A variant's arguments ('[context_rewards=false]'), with the character before them."""


def cell_html(text) -> str:
    """inline_html of a table cell, a variant's arguments kept on one line (they wrap as a
    whole, at the space or the break point before their '['), so a method name wraps between
    its name and its arguments, never inside them."""
    return _ARGS.sub(lambda m: f'{m.group(1)}{"<wbr>" if m.group(1) else ""}<span class="args">{m.group(2)}</span>',
                     inline_html(text))


def html_table(frame: pd.DataFrame) -> str:
    """<table> with a header row and one body row per frame row (index dropped); a first column
    of method names is kept wide enough for a display name on one or two lines."""
    first = ' class="method"' if len(frame.columns) and frame.columns[0] == "method" else ""
    head = "".join(f"<th{first if i == 0 else ''}>{cell_html(c)}</th>" for i, c in enumerate(frame.columns))
    body = "".join("<tr>" + "".join(f"<td{first if i == 0 else ''}>{cell_html(v)}</td>" for i, v in enumerate(row))
                   + "</tr>" for row in frame.itertuples(index=False))
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def to_markdown(blocks: list) -> str:
    """The blocks as one Markdown document."""
    out = []
    for kind, payload in blocks:
        if kind in ("h1", "h2", "h3"):
            out.append(f"{'#' * int(kind[1])} {payload}")
        elif kind == "p":
            out.append(payload)
        elif kind == "list":
            out.append("\n".join(line if line.startswith("- ") else f"- {line}" for line in payload))
        elif kind == "table":
            out.append(markdown_table(payload))
        elif kind == "figure":
            src, caption = payload
            out.append(f"![{src}]({src})\n\n*{caption}*")
    return "\n\n".join(out) + "\n"


def to_html(blocks: list) -> str:
    """The blocks as one HTML page with the stylesheet embedded; blocks[0] is the h1 title."""
    body = []
    for kind, payload in blocks:
        if kind in ("h1", "h2", "h3"):
            body.append(f"<{kind}>{inline_html(payload)}</{kind}>")
        elif kind == "p":
            body.append(f"<p>{inline_html(payload)}</p>")
        elif kind == "list":
            items = "".join(f"<li>{inline_html(line.removeprefix('- '))}</li>" for line in payload)
            body.append(f"<ul>{items}</ul>")
        elif kind == "table":
            body.append(html_table(payload))
        elif kind == "figure":
            src, caption = payload
            body.append(f'<figure><img src="{html.escape(src)}" alt="{html.escape(caption)}">'
                        f"<figcaption>{inline_html(caption)}</figcaption></figure>")
    title = html.escape(blocks[0][1])
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{title}</title>\n<style>\n{STYLESHEET}\n</style></head><body>\n"
            + "\n".join(body) + "\n</body></html>\n")
