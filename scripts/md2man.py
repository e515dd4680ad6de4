#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Turns one of docs/'s Markdown pages into a lowdown man-page source (issue 13).

The docs are written for a browser: one '# title' line, '## Section' headings, links to sibling
pages. A man page wants NAME first, upper-case '.SH' sections and no dangling links. So this
  - drops the '# title' line and adds lowdown's metadata (title, section, source, date),
  - adds a NAME section (from --name-line) when the page has none, and with --synopsis moves
    the page's first code block into a SYNOPSIS section after it,
  - raises every heading one level ('## X' becomes '# X', the .SH level) and upper-cases the
    top-level ones, leaving code fences alone (a '#' in a YAML example is a comment),
  - turns '[text](page.md#anchor)' into 'text' (the page exists only in the source tree),
  - drops sections named by --skip (e.g. "For developers"),
  - turns each table into a definition list (a term per row, the other cells indented under
    it): tbl tables of prose do not fit 80 columns and make groff warn.
Then `lowdown -s -Tman` renders it, and every non-ASCII character becomes a groff escape
(\\(em, \\[u2264], ...) so the page renders the same whatever the reader's locale. Usage:
  md2man.py --title knobd --section 8 --name-line "knobd - ..." --version 0.1.0 IN.md OUT.8
"""
import argparse
import datetime
import os
import re
import subprocess
import sys

NAMED_GLYPHS = {"\u2014": "\\(em", "\u2013": "\\(en", "\u2019": "\\(cq", "\u2018": "\\(oq",
                "\u201c": "\\(lq", "\u201d": "\\(rq", "\u00d7": "\\(mu", "\u2264": "\\(<=",
                "\u2265": "\\(>=", "\u2192": "\\(->", "\u00b5": "\\(mc"}


def ascii_roff(roff):
    return "".join(c if ord(c) < 128 else NAMED_GLYPHS.get(c, "\\[u%04X]" % ord(c))
                   for c in roff)


def cells(row):
    return [c.strip() for c in row.strip().strip("|").split("|")]


def tables_to_lists(lines):
    out, i = [], 0
    while i < len(lines):
        if (lines[i].lstrip().startswith("|") and i + 1 < len(lines)
                and re.match(r"^\s*\|[\s:|-]+\|\s*$", lines[i + 1])):
            header = cells(lines[i])
            i += 2
            while i < len(lines) and lines[i].lstrip().startswith("|"):
                row = cells(lines[i].replace("\\|", "\x00"))
                row = [c.replace("\x00", "|") for c in row]
                row += [""] * (len(header) - len(row))
                out.append(row[0] or "(empty)")
                extra = [f"{h.lower()}: {c}" for h, c in zip(header[1:-1], row[1:-1]) if c]
                body = row[-1] if len(row) > 1 else ""
                if extra:
                    body = f"{body} ({'; '.join(extra)})" if body else "; ".join(extra)
                out.append(": " + (body or "-"))
                out.append("")
                i += 1
            continue
        out.append(lines[i])
        i += 1
    return out


def take_first_code_block(lines):
    try:
        start = next(i for i, ln in enumerate(lines) if ln.startswith("```"))
        end = next(i for i in range(start + 1, len(lines)) if lines[i].startswith("```"))
    except StopIteration:
        sys.exit("md2man: --synopsis given but the page has no code block")
    return lines[:start] + lines[end + 1:], ["```"] + lines[start + 1:end] + ["```"]


def convert(text, args):
    lines = text.splitlines()
    synopsis = []
    if args.synopsis:
        lines, synopsis = take_first_code_block(lines)
    out = []
    fence = False
    skipping = False
    has_name = any(re.match(r"^##\s+NAME\s*$", ln) for ln in lines)
    first_heading_seen = False
    for ln in lines:
        if ln.startswith("```"):
            fence = not fence
            if not skipping:
                out.append(ln)
            continue
        if not fence:
            m = re.match(r"^(#+)\s+(.*)$", ln)
            if m:
                level, title = len(m.group(1)), m.group(2).strip()
                if level == 1 and not first_heading_seen:
                    first_heading_seen = True
                    if not has_name:
                        out += ["# NAME", "", args.name_line, ""]
                        if synopsis:
                            out += ["# SYNOPSIS", ""] + synopsis + [""]
                        out += ["# DESCRIPTION", ""]
                    continue
                if level == 2:
                    skipping = title in args.skip
                if skipping:
                    continue
                title = re.sub(r"`", "", title)
                if level == 2:
                    title = title.upper()
                out.append("#" * max(1, level - 1) + " " + title)
                continue
            if skipping:
                continue
            ln = re.sub(r"\[([^\]]+)\]\((?!https?:)[^)]*\)", r"\1", ln)
        elif skipping:
            continue
        out.append(ln)
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    when = (datetime.datetime.fromtimestamp(int(epoch), datetime.timezone.utc)
            if epoch else datetime.datetime.now(datetime.timezone.utc))
    meta = [
        f"title: {args.title}",
        f"section: {args.section}",
        f"source: knobd {args.version}",
        "manual: knobd manual",
        f"date: {when:%Y-%m-%d}",
        "",
    ]
    return "\n".join(meta + tables_to_lists(out)) + "\n"


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--title", required=True)
    p.add_argument("--section", required=True)
    p.add_argument("--name-line", required=True)
    p.add_argument("--version", required=True)
    p.add_argument("--skip", action="append", default=[])
    p.add_argument("--synopsis", action="store_true")
    p.add_argument("input")
    p.add_argument("output")
    args = p.parse_args()
    try:
        with open(args.input, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        sys.exit(f"md2man: cannot read {args.input}: {e.strerror}")
    try:
        roff = subprocess.run(["lowdown", "-s", "-Tman"], input=convert(text, args), text=True,
                              capture_output=True, check=True).stdout
    except FileNotFoundError:
        sys.exit("md2man: lowdown is not installed (scripts/install-deps.sh installs it)")
    except subprocess.CalledProcessError as e:
        sys.exit(f"md2man: lowdown failed on {args.input}: {e.stderr}")
    # Ragged-right text (.ad l, as many man pages do): a URL or a long option name cannot be
    # justified into 80 columns, and groff -ww would warn about every such line.
    roff = re.sub(r"^(\.TH .*)$", r"\1\n.ad l", roff, count=1, flags=re.M)
    with open(args.output, "w", encoding="ascii") as f:
        f.write(ascii_roff(roff))


if __name__ == "__main__":
    main()
