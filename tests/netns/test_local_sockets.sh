#!/usr/bin/env bash
# The control and shim sockets cannot be squatted or impersonated by another local user:
#   - without XDG_RUNTIME_DIR the sockets live in /tmp/rrouted-UID/ (0700, ours); a directory a
#     stranger made there first is refused with a message naming it, never used;
#   - rrctl and the shim talk only to a server of their own uid (or root): SO_PEERCRED.
# Users: the router's user is uid $OWNER, the stranger uid $STRANGER (no namespaces needed, but
# root is, to be two users).
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" -eq 0 ] || rr_skip_all "needs root to act as two different users"
[ -x "$RROUTED" ] && [ -x "$RRCTL" ] || rr_skip_all "rrouted/rrctl are not built (make)"
[ -n "$PY" ] || rr_skip_all "python3 is not installed (scripts/install-deps)"
command -v setpriv >/dev/null 2>&1 || rr_skip_all "setpriv is not installed"

OWNER=65531 STRANGER=65532
PRIV=/tmp/rrouted-$OWNER
as_user() {
	local uid=$1
	shift
	env -u XDG_RUNTIME_DIR setpriv --reuid="$uid" --regid="$uid" --clear-groups --inh-caps=-all \
		--bounding-set=-all -- "$@"
}
cleanup_priv() { rm -rf "$PRIV"; }
cleanup_priv

D=$RR_TMP/own
mkdir -p "$D/ifaces"
printf '%s\n' "[router]" "interfaces = ifaces" "log_level = debug" >"$D/rrouted.conf"
chown -R "$OWNER:$OWNER" "$D" && chmod 700 "$D"

# 1. A stranger took /tmp/rrouted-OWNER first: rrouted refuses it, naming the directory and owner.
as_user "$STRANGER" mkdir -m 0777 "$PRIV"
out=$(timeout 10 env -u XDG_RUNTIME_DIR setpriv --reuid="$OWNER" --regid="$OWNER" --clear-groups \
	--inh-caps=-all --bounding-set=-all -- "$RROUTED" -c "$D/rrouted.conf" 2>&1)
rc=$?
if [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && grep -q "$PRIV belongs to uid $STRANGER" <<<"$out"; then
	ok "rrouted refuses a socket directory a stranger created first (exit $rc, names it)"
else
	not_ok "rrouted refuses a socket directory a stranger created first" "exit $rc" "$out"
fi
if [ "$(stat -c %u "$PRIV")" = "$STRANGER" ] && [ -z "$(ls -A "$PRIV")" ]; then
	ok "the stranger's directory is left untouched and holds no socket of ours"
else
	not_ok "the stranger's directory is left untouched" "$(ls -la "$PRIV")"
fi
rm -rf "$PRIV"

# 2. Without a squatter: the private directory is created 0700 and rrctl finds rrouted there.
# Not through as_user: a function run with & is a subshell, whose pid is not rrouted's.
env -u XDG_RUNTIME_DIR setpriv --reuid="$OWNER" --regid="$OWNER" --clear-groups --inh-caps=-all \
	--bounding-set=-all -- "$RROUTED" -c "$D/rrouted.conf" >"$RR_TMP/own.log" 2>&1 &
rr_track $! "rrouted (default socket)" "$RR_TMP/own.log"
if wait_until 10 test -S "$PRIV/rrouted.sock"; then
	ok "rrouted's default control socket is $PRIV/rrouted.sock"
else
	not_ok "rrouted's default control socket is $PRIV/rrouted.sock" "$(tail -5 "$RR_TMP/own.log")"
fi
check "the socket directory is the owner's, mode 700" \
	test "$(stat -c '%u %a' "$PRIV")" = "$OWNER 700"
check "rrctl (default socket) talks to it" as_user "$OWNER" "$RRCTL" show status

# 3. An impostor's control socket: rrctl refuses it instead of believing its answers.
IMP=$RR_TMP/imp
mkdir -p "$IMP" && chmod 777 "$IMP"
as_user "$STRANGER" "$PY" -c '
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1]); os.chmod(sys.argv[1], 0o777); s.listen(4)
while True:
    c, _ = s.accept()
    c.recv(4096)
    c.sendall(b"interfaces 0 (this answer is an impostor'"'"'s)\n")
    c.close()
' "$IMP/ctl.sock" >/dev/null 2>&1 &
rr_track $! "impostor control server"
wait_until 5 test -S "$IMP/ctl.sock" || not_ok "impostor control socket came up"
out=$(as_user "$OWNER" "$RRCTL" -s "$IMP/ctl.sock" show status 2>&1)
rc=$?
if [ "$rc" -ne 0 ] && grep -q "served by uid $STRANGER" <<<"$out" && ! grep -q impostor <<<"$out"; then
	ok "rrctl refuses a control socket served by another user"
else
	not_ok "rrctl refuses a control socket served by another user" "exit $rc" "$out"
fi

# 4. An impostor's shim socket: the shim never sends it a request; the socket call fails ENETDOWN.
as_user "$STRANGER" "$PY" -c '
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.bind(sys.argv[1]); os.chmod(sys.argv[1], 0o777); s.listen(4)
c, _ = s.accept()
c.settimeout(3)
try:
    data = c.recv(65536)
except socket.timeout:
    data = b""
open(sys.argv[2], "w").write(str(len(data)))
' "$IMP/shim.sock" "$IMP/got" >/dev/null 2>&1 &
rr_track $! "impostor shim server"
wait_until 5 test -S "$IMP/shim.sock" || not_ok "impostor shim socket came up"
out=$(as_user "$OWNER" env RRSHIM_SOCKET="$IMP/shim.sock" LD_PRELOAD="$RR_BUILD/librrshim.so" "$PY" -c '
import socket, errno
try:
    socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"x", ("192.0.2.1", 9))
    print("sent")
except OSError as e:
    print(errno.errorcode.get(e.errno, e.errno))
' 2>&1)
wait_until 5 test -s "$IMP/got"
got=$(cat "$IMP/got" 2>/dev/null)
if [ "$got" = 0 ] && grep -q ENETDOWN <<<"$out"; then
	ok "the shim sends nothing to a shim socket served by another user (ENETDOWN)"
else
	not_ok "the shim sends nothing to a shim socket served by another user" \
		"bytes the impostor received: ${got:-none}" "$out"
fi

# 5. Idle control clients: 32 connections that never send a request take every slot, and lose
#    them within rrouted's client timeout (10 s), so rrctl gets through again.
as_user "$OWNER" "$PY" -c '
import socket, sys, time
conns = []
for _ in range(32):
    c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); c.connect(sys.argv[1]); conns.append(c)
time.sleep(30)
' "$PRIV/rrouted.sock" >/dev/null 2>&1 &
rr_track $! "idle control clients"
if wait_until 5 sh -c "! setpriv --reuid=$OWNER --regid=$OWNER --clear-groups -- '$RRCTL' -s '$PRIV/rrouted.sock' ping 2>&1 | grep -q pong"; then
	ok "32 idle control clients take every slot (rrctl is told to try again)"
else
	not_ok "32 idle control clients take every slot"
fi
if wait_until 15 sh -c "setpriv --reuid=$OWNER --regid=$OWNER --clear-groups -- '$RRCTL' -s '$PRIV/rrouted.sock' ping 2>/dev/null | grep -q pong"; then
	ok "idle control clients are timed out and rrctl gets through again"
else
	not_ok "idle control clients are timed out" "$(tail -5 "$RR_TMP/own.log")"
fi

cleanup_priv
rr_finish
