# SPDX-License-Identifier: Apache-2.0
"""docs/integrating.md shows the example programs the test command runs: every listing marked
`<!-- listing: PATH -->` must be exactly the file PATH, and every example must be listed.
`integrating_doc_test.py --update` rewrites the listings from the files."""

import os
import re
import sys

SOURCE_DIR = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
EXAMPLES = ["client/examples/cpp/main.cc", "client/examples/c/main.c",
            "client/examples/python/service.py", "client/examples/go/main.go",
            "client/examples/rust/src/main.rs"]


def main():
    with open(os.path.join(SOURCE_DIR, "docs", "integrating.md")) as f:
        doc = f.read()
    pattern = r"(<!-- listing: (\S+) -->\n```\w*\n)(.*?)(```\n)"
    if "--update" in sys.argv:
        def fill(m):
            with open(os.path.join(SOURCE_DIR, m.group(2))) as f:
                return m.group(1) + f.read() + m.group(4)
        doc = re.sub(pattern, fill, doc, flags=re.S)
        with open(os.path.join(SOURCE_DIR, "docs", "integrating.md"), "w") as f:
            f.write(doc)
    listings = {m[1]: m[2] for m in re.findall(pattern, doc, re.S)}
    problems = []
    for path in EXAMPLES:
        if path not in listings:
            problems.append("%s is not listed in docs/integrating.md" % path)
            continue
        with open(os.path.join(SOURCE_DIR, path)) as f:
            if f.read() != listings[path]:
                problems.append("the listing of %s differs from the file; copy the file into the "
                                "doc" % path)
    for path in listings:
        if path not in EXAMPLES:
            problems.append("docs/integrating.md lists %s, which no test runs" % path)
    for p in problems:
        print(p, file=sys.stderr)
    print("%d listings checked" % len(listings))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
