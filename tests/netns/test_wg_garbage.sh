#!/usr/bin/env bash
# Hostile input at rrouted's UDP port during a live session: every kind of bad packet must be
# dropped, counted in `rrctl show interfaces --json` .drops, leave the endpoint alone, and not
# disturb the session.
#
#   netns rrt-<pid>-r (rrouted, uid 65534)           netns rrt-<pid>-p (wireguard-go + wgjunk.py)
#   +--------------------------------+               +--------------------------------+
#   | rrouted wg0        udp/51820   |   WireGuard   | rrp<pid> (tun)     udp/51821   |
#   |  172.20.0.1/32 fd42:0:1::1/64  |<=============>|  172.20.0.2/32 fd42:0:1::2/64  |
#   |                                |<-- junk ------|  wgjunk.py: other udp ports,   |
#   |                                |               |  AF_PACKET capture on vp       |
#   | veth vr 192.0.2.1/24 ----------+---------------+- veth vp 192.0.2.2/24          |
#   +--------------------------------+               +--------------------------------+
#
# message sizes (WireGuard whitepaper section 5.4): initiation 148, response 92, cookie reply 64,
# transport >= 32 bytes.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
rr_require
[ -n "$PY" ] || rr_skip_all "python3 is not installed"
"$PY" -c 'import cryptography.hazmat.primitives.asymmetric.x25519' 2>/dev/null ||
	rr_skip_all "python3-cryptography is not installed (for the Noise initiation from an unknown key)"

JUNK=$RR_TMP/wgjunk.py
cat >"$JUNK" <<'PYEOF'
"""Sends malformed and hostile WireGuard messages to HOST:PORT; captures one transport packet."""
import hashlib, hmac, os, socket, struct, sys, time
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives import serialization
import base64

def blake2s(*parts):
    h = hashlib.blake2s()
    for p in parts:
        h.update(p)
    return h.digest()

def hmac2s(key, data):
    return hmac.new(key, data, hashlib.blake2s).digest()

def kdf(key, data, n):
    t0 = hmac2s(key, data)
    out, prev = [], b""
    for i in range(1, n + 1):
        prev = hmac2s(t0, prev + bytes([i]))
        out.append(prev)
    return out

def aead(key, counter, plain, ad):
    return ChaCha20Poly1305(key).encrypt(b"\0" * 4 + struct.pack("<Q", counter), plain, ad)

def raw(pub):
    return pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)

def mac1(responder_pub, msg):
    key = blake2s(b"mac1----", responder_pub)
    return hashlib.blake2s(msg, key=key, digest_size=16).digest()

def initiation(responder_pub, static_priv):
    """A well-formed Noise_IKpsk2 initiation (whitepaper 5.4.2) from static_priv."""
    c = blake2s(b"Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s")
    h = blake2s(c, b"WireGuard v1 zx2c4 Jason@zx2c4.com")
    h = blake2s(h, responder_pub)
    e = X25519PrivateKey.generate()
    e_pub = raw(e.public_key())
    c = kdf(c, e_pub, 1)[0]
    h = blake2s(h, e_pub)
    rpub = X25519PublicKey.from_public_bytes(responder_pub)
    c, k = kdf(c, e.exchange(rpub), 2)                  # es
    enc_static = aead(k, 0, raw(static_priv.public_key()), h)
    h = blake2s(h, enc_static)
    c, k = kdf(c, static_priv.exchange(rpub), 2)        # ss
    now = time.time()
    tai64n = struct.pack(">QI", 0x400000000000000a + int(now), int((now % 1) * 1e9))
    enc_ts = aead(k, 0, tai64n, h)
    msg = struct.pack("<I", 1) + os.urandom(4) + e_pub + enc_static + enc_ts
    return msg + mac1(responder_pub, msg) + b"\0" * 16

def main():
    cmd, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", 0))
    dst = (host, port)
    sent = 0
    def send(b):
        nonlocal sent
        s.sendto(b, dst)
        sent += 1
    if cmd == "garbage":          # unknown message types, and an empty datagram
        for _ in range(10):
            t = os.urandom(1)[0] % 251 + 5
            send(struct.pack("<I", t) + os.urandom(os.urandom(1)[0] % 200))
        send(struct.pack("<I", 0) + os.urandom(40))
        send(struct.pack("<I", 1 | (1 << 24)) + os.urandom(144))   # type 1 with reserved bits set
        send(b"")
    elif cmd == "truncated":      # each type one byte short, a header-only one, and one too long
        for t, n in ((1, 147), (2, 91), (3, 63), (4, 31), (1, 4), (4, 8), (1, 149), (2, 93), (3, 65)):
            send(struct.pack("<I", t) + os.urandom(n - 4))
    elif cmd == "badmac":         # right size, wrong mac1
        for _ in range(3):
            send(struct.pack("<I", 1) + os.urandom(144))
    elif cmd == "badstatic":      # valid mac1, but the encrypted static key is random
        pub = base64.b64decode(sys.argv[4])
        for _ in range(2):
            m = struct.pack("<I", 1) + os.urandom(112)
            send(m + mac1(pub, m) + b"\0" * 16)
    elif cmd == "unknownkey":     # a real initiation from a key rrouted does not know
        pub = base64.b64decode(sys.argv[4])
        for _ in range(2):
            send(initiation(pub, X25519PrivateKey.generate()))
        s.settimeout(1.5)
        try:
            data, src = s.recvfrom(2048)
            print("UNEXPECTED REPLY %d bytes from %s, type %d" % (len(data), src, data[0]))
            sys.exit(3)
        except socket.timeout:
            pass
    elif cmd == "unknownindex":   # transport data for a receiver index that does not exist
        for _ in range(3):
            send(struct.pack("<I", 4) + os.urandom(4) + struct.pack("<Q", 0) + os.urandom(64))
    elif cmd == "replay":         # a captured transport packet, sent again (from another port)
        pkt = bytes.fromhex(open(sys.argv[4]).read())
        for _ in range(3):
            send(pkt)
    elif cmd == "corrupt":        # a captured transport packet with a flipped ciphertext bit
        pkt = bytearray(bytes.fromhex(open(sys.argv[4]).read()))
        for i in range(2):
            p = bytearray(pkt)
            p[16 + i] ^= 0x01
            send(bytes(p))
    elif cmd == "capture":        # capture: wgjunk.py capture HOST PORT OUTFILE IFACE TIMEOUT
        out, ifname, timeout = sys.argv[4], sys.argv[5], float(sys.argv[6])
        r = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
        r.bind((ifname, 0))
        r.settimeout(0.5)
        open(out + ".ready", "w").close()   # the test starts its pings after this
        end = time.time() + timeout
        want = socket.inet_aton(host)
        while time.time() < end:
            try:
                f = r.recv(65535)
            except socket.timeout:
                continue
            if len(f) < 14 + 20 + 8 or f[12:14] != b"\x08\x00":
                continue
            ip = f[14:]
            ihl = (ip[0] & 15) * 4
            if ip[9] != 17 or ip[16:20] != want:
                continue
            udp = ip[ihl:]
            if struct.unpack(">H", udp[2:4])[0] != port:
                continue
            payload = udp[8:struct.unpack(">H", udp[4:6])[0]]
            if len(payload) > 32 and payload[0] == 4:   # a data packet, not a keepalive
                open(out, "w").write(payload.hex())
                print("captured %d bytes" % len(payload))
                return
        print("no transport packet seen on %s" % ifname)
        sys.exit(2)
    else:
        sys.exit("unknown command " + cmd)
    print("sent %d" % sent)

main()
PYEOF

rr_setup_step "namespaces, veth and wireguard-go peer set up" rr_pair_setup
rr_setup_step "rrouted starts" rr_rrouted_start r "$NSR"
rr_ping "session up: ping 172.20.0.1 from the peer" "$NSP" -c 3 -i 0.3 -w 15 172.20.0.1
ep0=$(rr_peer r wg0 endpoint 2>/dev/null)
hs0=$(rr_peer r wg0 handshakes 2>/dev/null)

drop_ge() { local v; v=$(rr_drop r wg0 "$1") && [ "$v" -ge "$2" ]; }

# send_and_count DESC COUNTER N WGJUNK-ARGS...: COUNTER must grow by at least N.
send_and_count() {
	local desc=$1 counter=$2 n=$3 before after out drops0
	shift 3
	drops0=$(rr_iface r wg0 .drops -c 2>&1)
	if ! before=$(rr_drop r wg0 "$counter" 2>&1); then
		not_ok "$desc: counted in drops.$counter" "no drops.$counter in show interfaces --json" "$drops0"
		return
	fi
	if ! out=$(ip netns exec "$NSP" "$PY" "$JUNK" "$1" 192.0.2.1 51820 "${@:2}" 2>&1); then
		not_ok "$desc: sent" "$out"
		return
	fi
	if wait_until 5 drop_ge "$counter" $((before + n)); then
		after=$(rr_drop r wg0 "$counter")
		ok "$desc: drops.$counter $before -> $after"
	else
		not_ok "$desc: drops.$counter grows by $n" "$out" "before: $drops0" "after:  $(rr_iface r wg0 .drops -c 2>&1)"
	fi
}

send_and_count "13 datagrams of unknown type (incl. empty, reserved bits set)" invalid_message 13 garbage
send_and_count "9 truncated or over-long messages of each type" invalid_message 9 truncated
send_and_count "3 initiations with a wrong mac1" invalid_mac 3 badmac
send_and_count "2 initiations with valid mac1 but garbage content" handshake_failed 2 badstatic "$RR_PUB"
send_and_count "2 real initiations from an unknown static key (and no reply)" handshake_failed 2 unknownkey "$RR_PUB"
send_and_count "3 transport packets for an unknown receiver index" unknown_index 3 unknownindex

# Capture one of the peer's real transport packets on the veth, then replay and corrupt it.
ip netns exec "$NSP" "$PY" "$JUNK" capture 192.0.2.1 51820 "$RR_TMP/captured.hex" vp 10 \
	>"$RR_TMP/capture.log" 2>&1 &
cap_pid=$!
rr_track "$cap_pid" "capture"
# Ping once the capture socket is bound (python's start-up takes seconds on a loaded machine),
# and again until it has a packet or gives up.
wait_until 10 test -e "$RR_TMP/captured.hex.ready"
for _ in 1 2 3 4 5; do
	kill -0 "$cap_pid" 2>/dev/null || break
	ip netns exec "$NSP" ping -n -q -c 3 -i 0.3 172.20.0.1 >/dev/null 2>&1
done
wait "$cap_pid"
if [ -s "$RR_TMP/captured.hex" ]; then
	ok "captured a transport packet of the live session ($(cat "$RR_TMP/capture.log"))"
	send_and_count "3 replays of a captured transport packet" replayed 3 replay "$RR_TMP/captured.hex"
	send_and_count "2 captured transport packets with a flipped bit" decrypt_failed 2 corrupt "$RR_TMP/captured.hex"
else
	not_ok "captured a transport packet of the live session" "$(cat "$RR_TMP/capture.log")"
fi

# Inner source address outside the peer's AllowedIPs: authenticated, but must not be accepted.
before=$(rr_drop r wg0 allowedips 2>/dev/null)
ip -n "$NSP" addr add 172.20.0.99/32 dev "$PDEV"
ip netns exec "$NSP" ping -n -q -c 2 -i 0.3 -W 1 -I 172.20.0.99 172.20.0.1 >/dev/null 2>&1
if [ -n "$before" ] && wait_until 5 drop_ge allowedips $((before + 2)); then
	ok "2 packets from 172.20.0.99 (outside AllowedIPs): drops.allowedips $before -> $(rr_drop r wg0 allowedips)"
else
	not_ok "packets from outside AllowedIPs counted in drops.allowedips" "$(rr_iface r wg0 .drops -c 2>&1)"
fi

ep1=$(rr_peer r wg0 endpoint 2>/dev/null)
if [ -n "$ep0" ] && [ "$ep1" = "$ep0" ]; then
	ok "the peer's endpoint did not move to the junk senders ($ep1)"
else
	not_ok "the peer's endpoint did not move to the junk senders" "before: $ep0" "after: $ep1"
fi
rr_ping "ping through the session still works after all that" "$NSP" -c 3 -i 0.3 -w 10 172.20.0.1
hs1=$(rr_peer r wg0 handshakes 2>/dev/null)
if [ -n "$hs1" ] && [ "$hs1" = "$hs0" ]; then
	ok "the session survived without a new handshake"
else
	not_ok "the session survived without a new handshake" "handshakes $hs0 -> $hs1"
fi
if kill -0 "${RR_PID[r]}" 2>/dev/null && rr_rrouted_stop r; then
	ok "rrouted is alive and stops cleanly"
else
	not_ok "rrouted is alive and stops cleanly" "${RR_STOP_WHY:-rrouted died}"
fi
rr_finish
