#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Runs one example program of docs/integrating.md against a real knobd and checks that knobd
received what it reports.

    run_example.py NAME -- COMMAND [ARGS...]

Starts knobd (KNOBD_BIN) with a policy whose target `example` selects `registered: NAME`, runs
COMMAND with KNOBD_SOCKET pointing at it, and requires: exit status 0, and knobd holding the
program's report (requests, the `workers` knob and pool, the `main` cache with its reuse
histogram, allocator statistics) after it has gone."""

import os
import subprocess
import sys

from knobd_fixture import Knobd, policy_for


def main(argv):
    if len(argv) < 3 or argv[1] != "--":
        print(__doc__, file=sys.stderr)
        return 2
    name, cmd = argv[0], argv[2:]
    with Knobd(policy_for(name, target="example")) as k:
        env = dict(os.environ, KNOBD_SOCKET=k.sock)
        env.pop("KNOBD_CONTROL_SOCKET", None)
        run = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
        sys.stdout.write(run.stdout)
        sys.stderr.write(run.stderr)
        problems = []
        if run.returncode != 0:
            problems.append("%s exited with %d" % (cmd[0], run.returncode))
        show = k.admin("show", target="example")
        if show.get("type") != "reply":
            problems.append("show example: %r" % show)
            show = {"show": {}}
        row = show["show"].get("target") or {}
        app = show["show"].get("app") or {}
        if row.get("reports", 0) < 1:
            problems.append("knobd counted no report from %s: %r" % (name, row))
        if not app.get("requests_total"):
            problems.append("no requests in the report knobd kept: %r" % app)
        if "workers" not in app.get("knobs", {}):
            problems.append("knob 'workers' missing from the report: %r" % app.get("knobs"))
        if "workers" not in app.get("pools", {}):
            problems.append("pool 'workers' missing from the report: %r" % app.get("pools"))
        cache = app.get("caches", {}).get("main", {})
        reuse = cache.get("reuse", {})
        if not (cache.get("hits_total") and reuse.get("cold")):
            problems.append("cache 'main' without hits or a reuse histogram: %r" % cache)
        if not app.get("allocator", {}).get("kind"):
            problems.append("no allocator statistics in the report: %r" % app.get("allocator"))
        if problems:
            print("FAIL %s:\n  %s\nknobd log:\n%s" % (name, "\n  ".join(problems), k.log()))
            return 1
        print("OK %s: %d reports, %d requests, cache reuse cold=%d, allocator %s" % (
            name, row["reports"], app["requests_total"], reuse["cold"], app["allocator"]["kind"]))
        return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
