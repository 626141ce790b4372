# Helper of test_matrix_tools.sh (run inside the router as uid 65534).
# Raw ICMP echo inside the router: send an echo request on a SOCK_RAW socket, read replies
# until ours arrives; prints "reply from ADDR ttl=N seq=S" (IPv4 with the IP header read too).
import os, socket, struct, sys, time
dst = sys.argv[1]
v6 = ':' in dst
fam = socket.AF_INET6 if v6 else socket.AF_INET
proto = socket.IPPROTO_ICMPV6 if v6 else socket.IPPROTO_ICMP
s = socket.socket(fam, socket.SOCK_RAW, proto)
assert s.getsockopt(socket.SOL_SOCKET, socket.SO_TYPE) == socket.SOCK_RAW
if v6:
    # ICMP6_FILTER: block everything but echo reply (129)
    filt = bytearray(b'\xff' * 32)
    filt[129 >> 3] &= ~(1 << (129 & 7)) & 0xff
    s.setsockopt(socket.IPPROTO_ICMPV6, 1, bytes(filt))
    assert s.getsockopt(socket.IPPROTO_ICMPV6, 1, 32) == bytes(filt)
else:
    # ICMP_FILTER (SOL_RAW 255): drop every type but echo reply (0)
    s.setsockopt(255, 1, struct.pack('I', 0xffffffff & ~1))
ident = os.getpid() & 0xffff
def csum(b):
    if len(b) % 2: b += b'\0'
    t = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    while t >> 16: t = (t & 0xffff) + (t >> 16)
    return ~t & 0xffff
typ = 128 if v6 else 8
payload = b'rrouted-raw-icmp'
msg = struct.pack('!BBHHH', typ, 0, 0, ident, 1) + payload
if not v6:
    msg = msg[:2] + struct.pack('!H', csum(msg)) + msg[4:]
s.sendto(msg, (dst, 0))
s.settimeout(5)
end = time.time() + 5
while time.time() < end:
    data, src = s.recvfrom(2048)
    if not v6:
        ihl = (data[0] & 0xf) * 4
        ttl = data[8]
        icmp = data[ihl:]
    else:
        icmp, ttl = data, -1
    t, c, ck, i, seq = struct.unpack('!BBHHH', icmp[:8])
    if t != (129 if v6 else 0):
        print("unexpected type %d (the filter should drop it)" % t); sys.exit(1)
    if i == ident and icmp[8:] == payload:
        print("reply from %s ttl=%d seq=%d" % (src[0], ttl, seq))
        sys.exit(0)
print("no reply"); sys.exit(1)
