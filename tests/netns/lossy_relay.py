# Helper of test_shim.sh and soak.sh: a UDP relay that drops and delays, for a kernel without tc
# netem. Usage: lossy_relay.py FRONT_IP FRONT_PORT BACK_PORT WG_PORT LOSS DELAY_MS PEER_IP PEER_PORT
# Packets from rrouted (to FRONT_IP:FRONT_PORT) go to the local wireguard-go (127.0.0.1:WG_PORT)
# from BACK_PORT, and back to the latest sender on the front (first PEER_IP:PEER_PORT); each is
# dropped with probability LOSS, else delayed DELAY_MS. Every 30 s it prints its counts.
import heapq, random, select, socket, sys, time
# front: faces rrouted (front_ip:front_port); back: faces the local wireguard-go (127.0.0.1)
front_ip, front_port, back_port, wg_port = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
loss, delay = float(sys.argv[5]), float(sys.argv[6]) / 1000
def sock(addr):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
    s.bind(addr); s.setblocking(False); return s
front, back = sock((front_ip, front_port)), sock(("127.0.0.1", back_port))
peer, q, seq, n_in, n_drop = (sys.argv[7], int(sys.argv[8])), [], 0, 0, 0
last = time.monotonic()
while True:
    wait = max(0.0, q[0][0] - time.monotonic()) if q else 1.0
    ready, _, _ = select.select([front, back], [], [], wait)
    now = time.monotonic()
    for s in ready:
        for _ in range(256):
            try:
                data, addr = s.recvfrom(65535)
            except BlockingIOError:
                break
            if s is front:
                peer, out, to = addr, back, ("127.0.0.1", wg_port)
            else:
                out, to = front, peer
            n_in += 1
            if random.random() < loss:
                n_drop += 1
                continue
            seq += 1
            heapq.heappush(q, (now + delay, seq, out, to, data))
    while q and q[0][0] <= time.monotonic():
        _, _, out, to, data = heapq.heappop(q)
        try:
            out.sendto(data, to)
        except OSError:
            pass
    if now - last > 30:
        print("relay: %d packets, %d dropped" % (n_in, n_drop), flush=True)
        last = now
