# SPDX-License-Identifier: Apache-2.0
"""Services with many instances against the real knobd binary (issue 15): distinct names under
the catch-all are targets of their own (`targets`, `show`, `history`, /metrics, learned state
across a restart), and C++ (knob-example-service) and Python processes registering one name
are one target with N instances. Run by ctest (clients_instances_py), which sets KNOBD_BIN,
KNOB_EXAMPLE_SERVICE and PYTHONPATH."""

import json
import os
import re
import signal
import subprocess
import sys
import unittest
import urllib.request

import knob_client
from knobd_fixture import Knobd, wait_for

HERE = os.path.dirname(os.path.abspath(__file__))

POLICY = """global:
  tick_interval: 200ms
  mode: recommend
targets:
  - name: host
    select: {host: true}
    mode: observe
  - name: registered
    select: {registered: "*"}
    profile: microservice
"""


class InstancesTest(unittest.TestCase):
    def setUp(self):
        self.example = os.environ.get("KNOB_EXAMPLE_SERVICE", "")
        self.assertTrue(os.access(self.example, os.X_OK),
                        "KNOB_EXAMPLE_SERVICE=%r is not built (run through ctest)" % self.example)
        self.procs = []

    def tearDown(self):
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                p.wait(10)

    def spawn(self, args, sock):
        env = dict(os.environ, KNOBD_SOCKET=sock)
        p = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.procs.append(p)
        return p

    def client(self, name, sock):
        c = knob_client.Client(name, sock, initial_backoff=0.05, max_backoff=0.2,
                               default_report_interval=0.2)
        c.register_knob("worker_threads", 4, lo=1, hi=64, unit="threads")
        c.start()
        self.addCleanup(c.stop)
        return c

    def metrics(self, k):
        # The last port logged: a restarted knobd binds another.
        ports = re.findall(r"metrics: http://127\.0\.0\.1:(\d+)/metrics", k.log())
        self.assertTrue(ports, k.log())
        with urllib.request.urlopen("http://127.0.0.1:%s/metrics" % ports[-1], timeout=10) as r:
            return r.read().decode()

    def rows(self, k):
        return {r["name"]: r for r in k.admin("targets")["targets"]}

    def test_names_under_a_catch_all_and_instances_of_one_name(self):
        with Knobd(POLICY) as k:
            alpha = self.client("alpha", k.sock)
            self.client("beta", k.sock)
            # One name, three processes: two Python (this process and another) and one C++.
            gamma = self.client("gamma", k.sock)
            self.spawn([sys.executable, os.path.join(HERE, "instance_client.py"), "gamma"], k.sock)
            self.spawn([self.example, "--name", "gamma", "--port", "0", "--socket", k.sock],
                       k.sock)
            for i in range(50):
                alpha.record_request(0.001)
                gamma.record_request(0.001)

            wait_for("three instances of gamma",
                     lambda: self.rows(k).get("gamma", {}).get("instances") == 3, timeout=30)
            rows = self.rows(k)
            self.assertNotIn("registered", rows, "the catch-all is a template, not a target")
            for name in ("alpha", "beta", "gamma"):
                self.assertEqual(rows[name]["state"], "active", rows)
                self.assertTrue(rows[name]["connected"], rows)
            self.assertEqual(rows["alpha"]["instances"], 1)
            self.assertEqual(alpha.target, "alpha")
            self.assertEqual(gamma.target, "gamma")

            show = k.admin("show", target="gamma")["show"]
            self.assertEqual(show["target"]["instances"], 3)
            self.assertEqual(len(show["instances"]), 3)
            pids = {i["pid"] for i in show["instances"]}
            self.assertIn(os.getpid(), pids)
            self.assertEqual(len(pids), 3)
            # The C++ instance's pools are in the sum, each instance's in its own row.
            wait_for("gamma's merged report", lambda: "backend" in (
                k.admin("show", target="gamma")["show"].get("app") or {}).get("pools", {}))

            self.assertIn("history", k.admin("history", target="alpha"))

            wait_for("alpha's own series on /metrics",
                     lambda: re.search(r'knobd_model_observations\{target="alpha"\} [1-9]',
                                       self.metrics(k)), timeout=30)
            text = self.metrics(k)
            self.assertIn('knobd_target_requests_total{target="gamma"}', text)
            self.assertNotIn('target="registered"', text)

            # Learned state survives a restart, under the name.
            k.stop()
            with open(os.path.join(k.dir, "state", "brain-state.json")) as f:
                names = {t["name"] for t in json.load(f)["targets"]}
            self.assertIn("alpha", names)
            k.start()
            # Restored from the state file, before (or whether or not) alpha reconnects.
            wait_for("alpha's restored model on /metrics",
                     lambda: re.search(r'knobd_model_observations\{target="alpha"\} [1-9]',
                                       self.metrics(k)), timeout=30)
            wait_for("alpha back", lambda: self.rows(k).get("alpha", {}).get("connected"),
                     timeout=30)
            wait_for("gamma's instances back",
                     lambda: self.rows(k).get("gamma", {}).get("instances") == 3, timeout=30)


if __name__ == "__main__":
    unittest.main()
