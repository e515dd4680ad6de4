#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Captures real kernel netlink replies as seeds for tests/fuzz/netlink_fuzzer.cc.

Writes tests/fuzz/corpus/netlink/<name>: one selector byte (the parser, as the fuzzer's
switch numbers them) followed by one datagram exactly as recv() returned it. Opens a loopback
listener, a connected TCP pair and a Unix socket pair first, so the dumps are not empty.
Needs Linux; taskstats needs CAP_NET_ADMIN (run as root). Usage: capture_netlink_seeds.py [DIR]
"""
import os
import socket
import struct
import sys

NETLINK_SOCK_DIAG, NETLINK_GENERIC = 4, 16
SOCK_DIAG_BY_FAMILY, GENL_ID_CTRL = 20, 0x10
NLM_F_REQUEST, NLM_F_DUMP = 0x1, 0x300
INET_DIAG_INFO = 2


def request(sock, nl_type, flags, payload, seq):
    sock.send(struct.pack("=IHHII", 16 + len(payload), nl_type, flags, seq, 0) + payload)
    return sock.recv(65536)


def inet_req(family, with_info):
    ext = 1 << (INET_DIAG_INFO - 1) if with_info else 0
    # family, protocol, ext, pad, states, then the zeroed inet_diag_sockid (48 bytes).
    return struct.pack("=BBBBI", family, socket.IPPROTO_TCP, ext, 0, 0xFFFFFFFF) + bytes(48)


def unix_req():
    # family, protocol, pad, states, ino, show (UDIAG_SHOW_NAME), cookie
    return struct.pack("=BBHIII", socket.AF_UNIX, 0, 0, 0xFFFFFFFF, 0, 1) + bytes(8)


def attrs(data):
    off = 0
    while off + 4 <= len(data):
        nla_len, nla_type = struct.unpack_from("=HH", data, off)
        if nla_len < 4:
            return
        yield nla_type & 0x3FFF, data[off + 4:off + nla_len]
        off += (nla_len + 3) & ~3


def taskstats_reply(pid):
    g = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_GENERIC)
    name = b"TASKSTATS\0"
    attr = struct.pack("=HH", 4 + len(name), 2) + name + bytes((-len(name)) % 4)
    reply = request(g, GENL_ID_CTRL, NLM_F_REQUEST, struct.pack("=BBH", 3, 1, 0) + attr, 1)
    family = None
    for t, v in attrs(reply[20:]):
        if t == 1:  # CTRL_ATTR_FAMILY_ID
            family = struct.unpack("=H", v[:2])[0]
    if family is None:
        raise SystemExit("no TASKSTATS genetlink family")
    tgid = struct.pack("=HHI", 8, 2, pid)  # TASKSTATS_CMD_ATTR_TGID
    return request(g, family, NLM_F_REQUEST, struct.pack("=BBH", 1, 1, 0) + tgid, 2)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(__file__), "..", "tests", "fuzz", "corpus", "netlink")
    os.makedirs(out, exist_ok=True)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    client = socket.create_connection(listener.getsockname())
    server, _ = listener.accept()
    pair = socket.socketpair()

    def dump(payload):  # the first datagram of a dump, on a fresh socket
        with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_SOCK_DIAG) as diag:
            return request(diag, SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST | NLM_F_DUMP, payload, 1)

    seeds = {
        "inet4_info": (0, dump(inet_req(socket.AF_INET, True))),
        "inet4": (1, dump(inet_req(socket.AF_INET, False))),
        "unix": (2, dump(unix_req())),
        "taskstats": (3, taskstats_reply(os.getpid())),
    }
    for name, (selector, datagram) in seeds.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(bytes([selector]) + datagram)
        print(f"{name}: {len(datagram)} bytes")
    for s in (client, server, listener, *pair):
        s.close()


if __name__ == "__main__":
    main()
