#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""One instance of a service for the multi-instance tests (instances_test.cc,
instances_test.py): registers NAME on $KNOBD_SOCKET with the knob `worker_threads` (as
knob-example-service does), counts 20 requests a second, and runs until SIGTERM.
`--reject` refuses every set with a reason, as an instance that cannot take the change would."""

import signal
import sys
import threading
import time

import knob_client


def main():
    name = sys.argv[1]
    reject = "--reject" in sys.argv[2:]
    workers = {"n": 4}

    def on_set(value):
        if reject:
            return False, "this instance keeps its workers"
        workers["n"] = int(value)
        return True

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    client = knob_client.Client(name)
    client.register_knob("worker_threads", 4, lo=1, hi=64, unit="threads", on_set=on_set)
    pool = client.pool("workers")
    client.start()
    while not stop.wait(0.05):
        client.record_request(0.002)
        pool.size, pool.busy = workers["n"], 1
    client.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
