# Helper of test_shim.sh and test_faults.sh: a UDP echo server, usage: udp_echo.py ADDR PORT
# (IPv6 when ADDR has a colon); answers every datagram with "echo:" + the datagram.
import socket, sys
fam = socket.AF_INET6 if ':' in sys.argv[1] else socket.AF_INET
s = socket.socket(fam, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
while True:
    data, addr = s.recvfrom(65535)
    s.sendto(b"echo:" + data, addr)
