# SPDX-License-Identifier: Apache-2.0
"""The Python client (client/python/knob_client.py): parity details with the C++ client, every
`set` outcome against a scripted server, the real knobd binary, and the package building
offline. Run by ctest (python_client*), which sets KNOBD_BIN and PYTHONPATH."""

import glob
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import zipfile

import knob_client
from knobd_fixture import Knobd, policy_for, wait_for

SOURCE_DIR = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))


class ParityTest(unittest.TestCase):
    def test_shards_hash_matches_the_cpp_client(self):
        # Values from knob::ShardsSampler::Hash (client/shards.cc).
        self.assertEqual(knob_client.shards_hash("abc"), 14975275710875166334)
        self.assertEqual(knob_client.shards_hash(b"key-17"), 8028618030320287292)

    def test_reuse_histogram_of_a_loop_over_ten_keys(self):
        cache = knob_client.CacheStats(1.0)
        for i in range(100):
            cache.access("k%d" % (i % 10), 100)
        reuse = cache.to_report()["reuse"]
        # Every re-access has 9 distinct 100-byte keys in between: 900 bytes, the 1 KiB bucket.
        self.assertEqual(reuse["cold"], 10)
        self.assertEqual(reuse["counts"][0], 90)
        self.assertEqual(reuse["bounds"][0], 1024)
        self.assertEqual(len(reuse["bounds"]), 36)

    def test_sampling_rate_is_honoured(self):
        s = knob_client.ShardsSampler(0.5)
        for i in range(1000):
            s.access("key-%d" % i, 1)
        self.assertTrue(400 <= s.snapshot()[2] <= 600, s.snapshot()[2])

    def test_socket_environment_variables(self):
        env = dict(os.environ)
        try:
            os.environ.pop("KNOBD_SOCKET", None)
            os.environ.pop("KNOBD_CONTROL_SOCKET", None)
            self.assertEqual(knob_client.default_socket_path(), "/run/knobd/control.sock")
            os.environ["KNOBD_CONTROL_SOCKET"] = "/tmp/b.sock"
            self.assertEqual(knob_client.Client("x").path, "/tmp/b.sock")
            os.environ["KNOBD_SOCKET"] = "/tmp/a.sock"
            self.assertEqual(knob_client.Client("x").path, "/tmp/a.sock")
        finally:
            os.environ.clear()
            os.environ.update(env)

    def test_glibc_allocator_stats(self):
        a = knob_client.read_allocator_stats()
        self.assertEqual(a["kind"], "glibc")
        self.assertGreater(a["allocated"], 0)
        self.assertGreaterEqual(a["resident"], a["mapped"])

    def test_jemalloc_allocator_stats_when_preloaded(self):
        libs = glob.glob("/usr/lib/*/libjemalloc.so.2")
        self.assertTrue(libs, "libjemalloc.so.2 missing: scripts/install-deps.sh installs libjemalloc-dev")
        env = dict(os.environ, LD_PRELOAD=libs[0])
        out = subprocess.run(
            [sys.executable, "-c", "import json, knob_client; "
             "print(json.dumps(knob_client.read_allocator_stats()))"],
            env=env, capture_output=True, text=True, timeout=60, check=True).stdout
        a = json.loads(out)
        self.assertEqual(a["kind"], "jemalloc")
        self.assertGreater(a["allocated"], 0)
        self.assertGreaterEqual(a["mapped"], a["active"])


class FakeKnobd:
    """A scripted control server on a real Unix socket."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="knob-py-fake-")
        self.path = os.path.join(self.dir, "control.sock")
        self.ln = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.ln.bind(self.path)
        self.ln.listen(4)
        self.ln.settimeout(10)

    def accept(self):
        s, _ = self.ln.accept()
        s.settimeout(10)
        return s, s.makefile("rb")

    def close(self):
        self.ln.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def read_type(f, typ):
    while True:
        m = json.loads(f.readline())
        assert m["v"] == 1, m
        if m["type"] == typ:
            return m
        assert m["type"] == "report", m


WELCOME = (b'{"v":1,"type":"welcome","session":"s1","target":"svc",'
           b'"tick_interval_seconds":0.05,"mode":"apply"}\n')


class SetAckTest(unittest.TestCase):
    def test_every_set_outcome(self):
        fake = FakeKnobd()
        self.addCleanup(fake.close)
        c = knob_client.Client("py-svc", fake.path, initial_backoff=0.01, max_backoff=0.05)
        seen = []
        c.register_knob("workers", 4, lo=1, hi=64, unit="threads",
                        on_set=lambda v: seen.append(v) or True)
        c.register_knob("cache_bytes", 1 << 20, on_set=lambda v: (True, "rounded", 4096))
        c.register_knob("busy", 1, on_set=lambda v: (False, "draining"))
        c.register_knob("boom", 1, on_set=lambda v: 1 / 0)
        c.pool("workers").size = 4
        c.cache("main", 1.0).access("k", 10)
        c.start()
        self.addCleanup(c.stop)
        s, f = fake.accept()
        hello = read_type(f, "hello")
        self.assertEqual(hello["pid"], os.getpid())
        self.assertEqual(hello["client"], "knob-python/1")
        self.assertIn("caches", hello["metrics"])
        s.sendall(WELCOME)
        r = read_type(f, "report")
        self.assertEqual(r["pools"]["workers"]["size"], 4)
        self.assertEqual(r["caches"]["main"]["reuse"]["cold"], 1)
        self.assertIn(r["allocator"]["kind"], ("glibc", "jemalloc"))
        wait_for("connected", lambda: c.connected)
        self.assertEqual(c.target, "svc")
        cases = [("workers", 6, "applied", None, 6), ("workers", 1000, "rejected", "bounds", None),
                 ("nope", 1, "rejected", "unknown knob", None),
                 ("cache_bytes", 5000, "applied", "rounded", 4096),
                 ("busy", 2, "rejected", "draining", None),
                 ("boom", 2, "rejected", "ZeroDivisionError", None)]
        for i, (knob, value, result, reason, applied_value) in enumerate(cases, 1):
            s.sendall(json.dumps({"v": 1, "type": "set", "id": i, "knob": knob,
                                  "value": value}).encode() + b"\n")
            ack = read_type(f, "ack")
            self.assertEqual((ack["id"], ack["result"]), (i, result), ack)
            if reason:
                self.assertIn(reason, ack.get("reason", ""), ack)
            if applied_value is not None:
                self.assertEqual(ack["value"], applied_value, ack)
        self.assertEqual(seen, [6])
        r = read_type(f, "report")
        self.assertEqual(r["knobs"], {"workers": 6, "cache_bytes": 4096, "busy": 1, "boom": 1})
        c.stop()
        self.assertEqual(read_type(f, "bye")["reason"], "client stopping")
        s.close()

    def test_recording_never_waits_on_a_stalled_daemon(self):
        fake = FakeKnobd()
        self.addCleanup(fake.close)
        c = knob_client.Client("py-svc", fake.path)
        c.start()
        self.addCleanup(c.stop)
        s, f = fake.accept()
        read_type(f, "hello")
        s.sendall(WELCOME)  # then never read: the socket buffer fills with reports
        wait_for("connected", lambda: c.connected)
        cache = c.cache("main")
        start = time.monotonic()
        for _ in range(50000):
            c.record_request(0.001)
            cache.hit()
        self.assertLess(time.monotonic() - start, 5.0)
        s.close()


class RealKnobdTest(unittest.TestCase):
    def test_register_report_duplicate_and_restart(self):
        with Knobd(policy_for("py-svc")) as k:
            c = knob_client.Client("py-svc", k.sock, initial_backoff=0.05, max_backoff=0.5)
            c.register_knob("workers", 4, lo=1, hi=64, unit="threads", on_set=lambda v: True)
            for _ in range(5):
                c.record_request(0.002)
            c.pool("workers").size = 4
            cache = c.cache("main", 1.0)
            cache.access("a", 100)
            cache.access("a", 100)
            c.start()
            self.addCleanup(c.stop)
            wait_for("two reports", lambda: c.connected and c.reports_sent >= 2)
            self.assertEqual(c.target, "svc")
            app = {}

            def held():
                app.update(k.admin("show", target="svc")["show"].get("app") or {})
                return app.get("requests_total") == 5
            wait_for("knobd to hold the report", held)
            self.assertEqual(app["caches"]["main"]["reuse"]["cold"], 1)
            self.assertEqual(app["allocator"]["kind"], "glibc")
            self.assertEqual(app["pools"]["workers"]["size"], 4)

            k.stop()
            wait_for("disconnect noticed", lambda: not c.connected)
            k.start()
            wait_for("reconnected after the restart", lambda: c.connected and c.connections >= 2)
            rows = k.admin("targets")["targets"]
            self.assertTrue(rows and rows[0]["connected"], "%r\n%s" % (rows, k.log()))

            # A second process with the same name is a second instance of the target (issue
            # 15), and the target stays connected while either is.
            dup = knob_client.Client("py-svc", k.sock, initial_backoff=0.05, max_backoff=0.2)
            dup.start()
            self.addCleanup(dup.stop)
            wait_for("the second instance registered", lambda: dup.connected)
            self.assertEqual(dup.target, "svc")
            wait_for("two instances", lambda: k.admin("targets")["targets"][0]["instances"] == 2)
            c.stop()
            wait_for("one instance left", lambda: k.admin("targets")["targets"][0]["instances"] == 1)
            self.assertTrue(k.admin("targets")["targets"][0]["connected"])

    def test_connect_errors_name_the_socket(self):
        c = knob_client.Client("py-svc", "/nonexistent/knobd.sock", initial_backoff=0.01)
        c.start()
        self.addCleanup(c.stop)
        wait_for("an error", lambda: c.last_error)
        self.assertIn("cannot connect to /nonexistent/knobd.sock", c.last_error)


class PackageTest(unittest.TestCase):
    def test_wheel_builds_offline_and_imports(self):
        work = tempfile.mkdtemp(prefix="knob-py-wheel-")
        self.addCleanup(shutil.rmtree, work, True)
        src = os.path.join(work, "src")
        shutil.copytree(os.path.join(SOURCE_DIR, "client", "python"), src,
                        ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "build"))
        dist = os.path.join(work, "dist")
        # The PEP 517 backend called directly: no pip, no build isolation, no network.
        subprocess.run([sys.executable, "-c",
                        "import sys; from setuptools import build_meta; "
                        "print(build_meta.build_wheel(sys.argv[1]))", dist],
                       cwd=src, check=True, capture_output=True, timeout=120)
        wheels = glob.glob(os.path.join(dist, "knob_client-0.1.0-*.whl"))
        self.assertEqual(len(wheels), 1, os.listdir(dist))
        site = os.path.join(work, "site")
        with zipfile.ZipFile(wheels[0]) as z:
            names = z.namelist()
            self.assertIn("knob_client.py", names)
            z.extractall(site)
        env = dict(os.environ, PYTHONPATH=site)
        out = subprocess.run([sys.executable, "-c", "import knob_client; print(knob_client.__file__)"],
                             env=env, cwd=work, capture_output=True, text=True, check=True,
                             timeout=60).stdout.strip()
        self.assertTrue(out.startswith(site), out)


if __name__ == "__main__":
    unittest.main()
