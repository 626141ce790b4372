#!/usr/bin/env python3
"""Records a WireGuard handshake exchange with a real wireguard-go, for
tests/unit/test_noise.c. Needs root (a network namespace), wireguard-go,
wg (wireguard-tools), ping, gcc, and the Python 'cryptography' package
(only to check the transport packets while recording).

    sudo tests/tools/record_wg_handshake.py  [> tests/unit/data/wg_go_handshake.hex]

  namespace rrrecNNN
  +------------------------------------------------------------+
  |  wireguard-go wgrecNNN 10.99.0.1/24, UDP 127.0.0.1:51820    |
  |        ^  |                                                |
  |        |  v  UDP over lo                                   |
  |  this script, UDP 127.0.0.1:51821, peer 10.99.0.2           |
  |  (handshakes made by src/wg/noise.c through                 |
  |   tests/tools/wg_handshake_tool.c)                          |
  +------------------------------------------------------------+

Exchange A: wireguard-go initiates (ping 10.99.0.2); our code responds with a
fixed ephemeral key; wireguard-go then sends the ping as a data packet.
Exchange B: our code initiates with a fixed ephemeral key and timestamp;
wireguard-go responds; we send an ICMP echo request through the new session
and record wireguard-go's encrypted echo reply.

The keys below were made once with `wg genkey` / `wg genpsk`; they protect
nothing. Writes the recording as hex text on stdout (or to --out FILE).
"""
import base64
import hashlib
import os
import socket
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

GO_PRIV = "CKODm+sWMA4VQWYWRJD7r5kGI7DTUQpxbLO1VQlbNXU="
OUR_PRIV = "yLsteIKHgCiulhWWLmQ0lsEigHk1XpjIkAqBDqBbPFs="
PSK = "Y7Clcae8WPUYo56agDjotCcVWIAe3G3IqgXzX3Z68EA="
EPH_I = "GNTx86AxBU4tluvm6oMbGOgMPcTnMQea5z1po/5OSEI="   # our initiator ephemeral
EPH_R = hashlib.blake2s(b"rootless-router test responder ephemeral").digest()
IDX_R = 0x11223344   # our index as responder (exchange A)
IDX_I = 0x55667788   # our index as initiator (exchange B)
GO_PORT, OUR_PORT = 51820, 51821


def b64hex(k):
    return base64.b64decode(k).hex()


def wg_pub(priv_b64):
    return subprocess.run(["wg", "pubkey"], input=priv_b64 + "\n", capture_output=True,
                          text=True, check=True).stdout.strip()


def tool(tool_bin, *args):
    out = subprocess.run([tool_bin, *args], capture_output=True, text=True, check=True).stdout
    return dict(kv.split("=", 1) for kv in out.split())


def tai64n_now():
    ns = time.time_ns()
    secs = 0x400000000000000a + ns // 10**9
    nsec = (ns % 10**9) & ~((1 << 24) - 1)
    return struct.pack(">QI", secs, nsec)


def aead_open(key, counter, ct):
    from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
    return ChaCha20Poly1305(key).decrypt(b"\0" * 4 + struct.pack("<Q", counter), ct, None)


def aead_seal(key, counter, pt):
    from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
    return ChaCha20Poly1305(key).encrypt(b"\0" * 4 + struct.pack("<Q", counter), pt, None)


def ip_checksum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def icmp_echo_request(src, dst, ident, seq):
    icmp = struct.pack("!BBHHH", 8, 0, 0, ident, seq) + b"rootless-router!"
    icmp = icmp[:2] + struct.pack("!H", ip_checksum(icmp)) + icmp[4:]
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(icmp), 1, 0, 64, 1, 0,
                      socket.inet_aton(src), socket.inet_aton(dst))
    hdr = hdr[:10] + struct.pack("!H", ip_checksum(hdr)) + hdr[12:]
    pkt = hdr + icmp
    return pkt + b"\0" * (-len(pkt) % 16)   # WireGuard padding


def recv_type(sock, want_type, want_len=None, deadline=10.0):
    end = time.time() + deadline
    while time.time() < end:
        sock.settimeout(max(0.1, end - time.time()))
        try:
            data, addr = sock.recvfrom(2048)
        except socket.timeout:
            break
        if data[0] == want_type and (want_len is None or len(data) == want_len):
            return data, addr
        print(f"  (skipping message type {data[0]}, {len(data)} bytes)", file=sys.stderr)
    raise SystemExit(f"no message of type {want_type} from wireguard-go")


def inside(tool_bin, out_path):
    """Runs inside the namespace: the UDP side of both exchanges."""
    go_pub = wg_pub(GO_PRIV)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", OUR_PORT))
    rec = {}

    # Exchange A: wireguard-go initiates.
    ping = subprocess.Popen(["ping", "-c", "1", "-W", "5", "10.99.0.2"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    init_go, addr = recv_type(sock, 1, 148)
    r = tool(tool_bin, "respond", b64hex(OUR_PRIV), b64hex(go_pub), b64hex(PSK),
             EPH_R.hex(), str(IDX_R), init_go.hex())
    resp_ours = bytes.fromhex(r["resp"])
    sock.sendto(resp_ours, addr)
    while True:
        data_go_1, _ = recv_type(sock, 4)
        if struct.unpack("<I", data_go_1[4:8])[0] == IDX_R:
            break
    counter = struct.unpack("<Q", data_go_1[8:16])[0]
    pt = aead_open(bytes.fromhex(r["recv"]), counter, data_go_1[16:])
    print(f"A: wireguard-go sent {len(pt)} bytes of plaintext: {pt[:28].hex()}", file=sys.stderr)
    ping.wait()
    rec.update(init_go=init_go, resp_ours=resp_ours, data_go_1=data_go_1)

    # Exchange B: we initiate.
    ts = tai64n_now()
    i = tool(tool_bin, "initiate", b64hex(OUR_PRIV), b64hex(go_pub), b64hex(PSK),
             b64hex(EPH_I), ts.hex(), str(IDX_I))
    init_ours = bytes.fromhex(i["init"])
    sock.sendto(init_ours, ("127.0.0.1", GO_PORT))
    resp_go, _ = recv_type(sock, 2, 92)
    k = tool(tool_bin, "consume", b64hex(OUR_PRIV), b64hex(go_pub), b64hex(PSK),
             b64hex(EPH_I), ts.hex(), str(IDX_I), resp_go.hex())
    req = icmp_echo_request("10.99.0.2", "10.99.0.1", 0x4242, 1)
    data_ours_2 = struct.pack("<IIQ", 4, int(k["remote_index"]), 0) + \
        aead_seal(bytes.fromhex(k["send"]), 0, req)
    sock.sendto(data_ours_2, ("127.0.0.1", GO_PORT))
    while True:
        data_go_2, _ = recv_type(sock, 4)
        if struct.unpack("<I", data_go_2[4:8])[0] != IDX_I:
            continue
        counter = struct.unpack("<Q", data_go_2[8:16])[0]
        pt = aead_open(bytes.fromhex(k["recv"]), counter, data_go_2[16:])
        if len(pt) >= 28 and pt[20] == 0:   # ICMP echo reply
            break
    print(f"B: wireguard-go answered the echo: {pt[:28].hex()}", file=sys.stderr)
    rec.update(timestamp=ts, init_ours=init_ours, resp_go=resp_go,
               data_ours_2=data_ours_2, data_go_2=data_go_2)
    with open(out_path, "w") as f:
        for name, val in rec.items():
            f.write(f"{name} {val.hex()}\n")


def main():
    if "--inside" in sys.argv:
        inside(sys.argv[2], sys.argv[3])
        return
    out_file = None
    if "--out" in sys.argv:
        out_file = sys.argv[sys.argv.index("--out") + 1]
    if os.geteuid() != 0:
        raise SystemExit("needs root: it creates a network namespace")
    tmp = tempfile.mkdtemp(prefix="rrrec.")
    tool_bin = os.path.join(tmp, "wg_handshake_tool")
    srcs = ["tests/tools/wg_handshake_tool.c", "src/wg/noise.c", "src/wg/cookie.c",
            "src/crypto/crypto.c", "src/core/log.c"]
    subprocess.run(["gcc", "-std=gnu11", "-D_GNU_SOURCE", "-Isrc", "-O1", "-o", tool_bin,
                    *srcs, "-lcrypto", "-lsodium"], cwd=ROOT, check=True)

    ns, dev = f"rrrec{os.getpid()}", f"wgrec{os.getpid() % 100000}"
    go = None
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        subprocess.run(["ip", "-n", ns, "link", "set", "lo", "up"], check=True)
        go = subprocess.Popen(["ip", "netns", "exec", ns, "wireguard-go", "-f", dev],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        sockpath = f"/var/run/wireguard/{dev}.sock"
        for _ in range(100):
            if os.path.exists(sockpath):
                break
            time.sleep(0.05)
        else:
            raise SystemExit("wireguard-go did not start")
        keyf, pskf = os.path.join(tmp, "key"), os.path.join(tmp, "psk")
        with open(keyf, "w") as f:
            f.write(GO_PRIV + "\n")
        with open(pskf, "w") as f:
            f.write(PSK + "\n")
        subprocess.run(["ip", "netns", "exec", ns, "wg", "set", dev, "private-key", keyf,
                        "listen-port", str(GO_PORT), "peer", wg_pub(OUR_PRIV),
                        "preshared-key", pskf, "endpoint", f"127.0.0.1:{OUR_PORT}",
                        "allowed-ips", "10.99.0.2/32"], check=True)
        subprocess.run(["ip", "-n", ns, "addr", "add", "10.99.0.1/24", "dev", dev], check=True)
        subprocess.run(["ip", "-n", ns, "link", "set", dev, "up"], check=True)
        rec_path = os.path.join(tmp, "rec.txt")
        subprocess.run(["ip", "netns", "exec", ns, sys.executable, os.path.abspath(__file__),
                        "--inside", tool_bin, rec_path], check=True, timeout=60)
        with open(rec_path) as f:
            rec = {k: bytes.fromhex(v) for k, v in (line.split() for line in f)}
    finally:
        if go:
            go.terminate()
            try:
                go.wait(timeout=5)
            except subprocess.TimeoutExpired:
                go.kill()
        subprocess.run(["ip", "netns", "del", ns])
        subprocess.run(["rm", "-rf", tmp])

    version = subprocess.run(["wireguard-go", "--version"], capture_output=True,
                             text=True).stdout.strip().split("\n")[0]
    fields = [("idx_r", struct.pack(">I", IDX_R)), ("idx_i", struct.pack(">I", IDX_I)),
              ("go_private", base64.b64decode(GO_PRIV)),
              ("our_private", base64.b64decode(OUR_PRIV)),
              ("psk", base64.b64decode(PSK)), ("eph_r", EPH_R),
              ("eph_i", base64.b64decode(EPH_I))]
    fields += [(name, rec[name]) for name in ["timestamp", "init_go", "resp_ours", "data_go_1",
                                             "init_ours", "resp_go", "data_ours_2",
                                             "data_go_2"]]
    hdr = [f"# Recorded exchange with {version}, made by",
           "# tests/tools/record_wg_handshake.py (run it as root to re-record), read by",
           "# tests/unit/wg_recording.h: one field a line, its name then its bytes in hex.",
           "# go_* is wireguard-go's side, ours is src/wg/noise.c. Test keys only."]
    text = "\n".join(hdr + [f"{name} {val.hex()}" for name, val in fields]) + "\n"
    if out_file:
        with open(out_file, "w") as f:
            f.write(text)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
