#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""A complete small service made tunable by knobd with the Python client (docs/integrating.md).

It "serves" requests from a worker pool and a cache, lets knobd resize the pool, and runs for
argv[1] seconds (default 10). Exit status 0 once knobd has received its reports."""

import random
import sys
import time

import knob_client  # pip install client/python (or put client/python on PYTHONPATH)


def main():
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 10.0
    workers = {"n": 4}

    def resize(value):  # runs on the client's thread
        if value != int(value):
            return False, "workers takes whole numbers"
        workers["n"] = int(value)
        print("python-example: workers set to %d" % workers["n"], flush=True)
        return True

    # The socket comes from $KNOBD_SOCKET (else $KNOBD_CONTROL_SOCKET, /run/knobd/control.sock).
    client = knob_client.Client("python-example")
    client.register_knob("workers", 4, lo=1, hi=64, unit="threads", on_set=resize)
    pool = client.pool("workers")
    cache = client.cache("main", sample_rate=0.1)
    cache.set_capacity(150 * 1024)
    client.start()

    rng = random.Random(42)
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        start = time.monotonic()
        key = "item-%d" % rng.randrange(200)
        hit = rng.random() < 0.75
        cache.hit() if hit else cache.miss()
        cache.access(key, 1024)
        time.sleep(0.001 if hit else 0.005)  # the "work"
        client.record_request(time.monotonic() - start)
        pool.size, pool.busy = workers["n"], 1
    client.stop()  # says bye
    print("python-example: %d reports sent, target %r" % (client.reports_sent, client.target))
    return 0 if client.reports_sent > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
