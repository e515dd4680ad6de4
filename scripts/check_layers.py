#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Fails when a source file includes a folder it must not depend on.

Every library exports the repository root as its include path, so a wrong include would compile;
this check is what keeps the one-way direction daemon -> {collectors, optimizers, config} -> core
(client/ beside them, on core only) true. Run by scripts/check.sh in CI.
"""
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
# folder -> the in-repo folders its files may include (itself always allowed)
ALLOWED = {
    "core": {"knob"},  # knob/version.h is generated from core/version.h.in
    "config": {"core"},
    "collectors": {"core", "config"},
    "optimizers": {"core", "config"},
    "client": {"core", "knob"},
    "daemon": {"core", "config", "collectors", "optimizers", "knob"},
    # daemon: bench/control/ measures the control server on its loop (issue 12); bench/ is a
    # leaf nothing includes, so this adds no cycle.
    "bench": {"core", "config", "collectors", "optimizers", "client", "knob", "daemon"},
    "adapters": {"core", "client", "knob"},  # issue 15: clients of the control socket only
}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')
REPO_DIRS = set(ALLOWED) | {"tests", "knob"}


def main() -> int:
    bad = []
    for folder, allowed in ALLOWED.items():
        for path in sorted((ROOT / folder).rglob("*")):
            if path.suffix not in {".h", ".cc", ".c"}:
                continue
            for lineno, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
                m = INCLUDE.match(line)
                if not m:
                    continue
                top = m.group(1).split("/", 1)[0]
                if "/" not in m.group(1) or top not in REPO_DIRS:
                    continue  # a sibling file or a third-party header
                if top != folder and top not in allowed:
                    rel = path.relative_to(ROOT)
                    bad.append(f"{rel}:{lineno}: {folder}/ must not include {m.group(1)} "
                               f"({folder}/ may use: {', '.join(sorted(allowed)) or 'nothing'})")
    for b in bad:
        print(b, file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
