# Helper of test_matrix_tools.sh (run inside the router as uid 65534).
# A raw ICMP socket alternates its hop limit between 1 and 64 with setsockopt while sending echo
# requests back to back, as traceroute -I does. A probe must leave with the hop limit that was set
# when it was sent: an echo reply to a hop-limit-1 probe from a destination two hops away means a
# later setsockopt overtook it. Prints how many of each kind were answered.
import os, socket, struct, sys, time
dst, pairs = sys.argv[1], int(sys.argv[2])
v6 = ':' in dst
fam = socket.AF_INET6 if v6 else socket.AF_INET
s = socket.socket(fam, socket.SOCK_RAW, socket.IPPROTO_ICMPV6 if v6 else socket.IPPROTO_ICMP)
level, name = (socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS) if v6 else (socket.IPPROTO_IP, socket.IP_TTL)
ident = os.getpid() & 0xffff
def csum(b):
    t = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    while t >> 16: t = (t & 0xffff) + (t >> 16)
    return ~t & 0xffff
short = set()
for seq in range(1, 2 * pairs + 1):
    hops = 1 if seq % 2 else 64
    if hops == 1: short.add(seq)
    s.setsockopt(level, name, hops)
    msg = struct.pack('!BBHHH', 128 if v6 else 8, 0, 0, ident, seq) + b'hoplimit'
    if not v6:
        msg = msg[:2] + struct.pack('!H', csum(msg)) + msg[4:]
    s.sendto(msg, (dst, 0))
answered = {True: 0, False: 0}
s.settimeout(0.5)
end = time.time() + 4
while time.time() < end and answered[False] < pairs:
    try:
        data, src = s.recvfrom(2048)
    except socket.timeout:
        continue
    icmp = data if v6 else data[(data[0] & 0xf) * 4:]
    t, c, ck, i, seq = struct.unpack('!BBHHH', icmp[:8])
    if t == (129 if v6 else 0) and i == ident:
        answered[seq in short] += 1
        if seq in short:
            print("probe seq=%d, sent with hop limit 1, was answered by %s" % (seq, src[0]))
print("hop-limit-1 probes answered: %d of %d; hop-limit-64 probes answered: %d of %d"
      % (answered[True], pairs, answered[False], pairs))
sys.exit(1 if answered[True] or not answered[False] else 0)
