# SPDX-License-Identifier: Apache-2.0
"""The real knobd binary from the build with a temporary policy, control socket and state
directory, for the client tests and the example programs (tests/integration/clients)."""

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time


def policy_for(name, target="svc"):
    return ("global:\n  tick_interval: 200ms\n  mode: recommend\n"
            "targets:\n  - name: %s\n    select: {registered: %s}\n" % (target, name))


def wait_for(what, pred, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.02)
    raise AssertionError("timed out waiting for " + what)


class Knobd:
    def __init__(self, policy, binary=None):
        self.binary = binary or os.environ.get("KNOBD_BIN")
        if not self.binary:
            raise RuntimeError("KNOBD_BIN is not set: run through ctest, or set "
                               "KNOBD_BIN=<build>/daemon/knobd")
        self.dir = tempfile.mkdtemp(prefix="knob-py-")
        self.sock = os.path.join(self.dir, "control.sock")
        with open(os.path.join(self.dir, "knobd.yaml"), "w") as f:
            f.write(policy)
        os.mkdir(os.path.join(self.dir, "state"))
        self.proc = None

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def start(self):
        if os.path.exists(self.sock):
            os.unlink(self.sock)
        with open(os.path.join(self.dir, "knobd.log"), "a") as log:
            self.proc = subprocess.Popen(
                [self.binary, "--config", os.path.join(self.dir, "knobd.yaml"),
                 "--control-socket", self.sock, "--state-dir", os.path.join(self.dir, "state"),
                 "--metrics-listen", "127.0.0.1:0"], stdout=log, stderr=log)
        wait_for("knobd's control socket", self._accepting)

    def _accepting(self):
        if self.proc.poll() is not None:
            raise AssertionError("knobd exited with %s:\n%s" % (self.proc.returncode, self.log()))
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(self.sock)
            return True
        except OSError:
            return False
        finally:
            s.close()

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(20)
        self.proc = None

    def log(self):
        try:
            with open(os.path.join(self.dir, "knobd.log")) as f:
                return f.read()
        except OSError:
            return ""

    def admin(self, op, **fields):
        """One admin request, as knobctl sends it; the reply (or error) as a dict."""
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(10)
        s.connect(self.sock)
        msg = {"v": 1, "type": op, "id": 1}
        msg.update(fields)
        s.sendall(json.dumps(msg).encode() + b"\n")
        buf = b""
        while b"\n" not in buf:
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
        s.close()
        return json.loads(buf.split(b"\n", 1)[0])
