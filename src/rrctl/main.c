/* rrctl: asks a running rrouted for its state over the control socket, and
 * makes WireGuard keys (genkey/pubkey, like wg(8)) for hosts without wg. */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "exec/capless.h"
#include "crypto/crypto.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: rrctl [-s SOCKET] show interfaces|peers|status [--json]\n"
		"       rrctl [-s SOCKET] ping\n"
		"       rrctl [-s SOCKET] exec [--] CMD [ARGS...]   run CMD inside the router's network\n"
		"       rrctl genkey            print a new private key\n"
		"       rrctl pubkey < private  print the public key of a private key\n"
		"SOCKET defaults to $XDG_RUNTIME_DIR/rrouted.sock (or /tmp/rrouted-UID.sock).\n"
		"exec preloads librrshim.so (next to rrctl, or $RRSHIM_LIB): the IPv4/IPv6 sockets\n"
		"of CMD and its children live in rrouted's network; loopback stays on the host.\n"
		"Programs with file capabilities (ping, mtr-packet) run without them, through\n"
		"their ELF interpreter: they need none inside the router.\n");
}

static void default_socket(char *buf, size_t len)
{
	const char *dir = getenv("XDG_RUNTIME_DIR");
	if (dir && *dir)
		snprintf(buf, len, "%s/rrouted.sock", dir);
	else
		snprintf(buf, len, "/tmp/rrouted-%u.sock", (unsigned)getuid());
}

static int genkey(void)
{
	uint8_t key[CRYPTO_KEY_LEN];
	char text[KEY_BASE64_LEN + 1];
	if (crypto_init() < 0)
		return 1;
	x25519_generate(key);
	key_to_base64(text, key);
	crypto_wipe(key, sizeof(key));
	puts(text);
	crypto_wipe(text, sizeof(text));
	return 0;
}

static int pubkey(void)
{
	char line[256];
	uint8_t priv[CRYPTO_KEY_LEN], pub[CRYPTO_KEY_LEN];
	char text[KEY_BASE64_LEN + 1];
	if (crypto_init() < 0)
		return 1;
	if (!fgets(line, sizeof(line), stdin)) {
		fprintf(stderr, "rrctl pubkey: expected a private key on standard input\n");
		return 1;
	}
	line[strcspn(line, "\r\n")] = '\0';
	int bad = key_from_base64(priv, line) < 0;
	crypto_wipe(line, sizeof(line));
	if (bad) {
		fprintf(stderr, "rrctl pubkey: standard input is not a base64 WireGuard key\n");
		return 1;
	}
	x25519_clamp(priv);
	bad = x25519_public(pub, priv) < 0;
	crypto_wipe(priv, sizeof(priv));
	if (bad) {
		fprintf(stderr, "rrctl pubkey: cannot derive the public key\n");
		return 1;
	}
	key_to_base64(text, pub);
	puts(text);
	return 0;
}

static int request(const char *path, const char *line)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "rrctl: socket path too long: %s\n", path);
		return 1;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		fprintf(stderr, "rrctl: cannot connect to %s: %s (is rrouted running? -s SOCKET)\n",
			path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return 1;
	}
	size_t len = strlen(line);
	if (write(fd, line, len) != (ssize_t)len || write(fd, "\n", 1) != 1) {
		fprintf(stderr, "rrctl: writing to %s: %s\n", path, strerror(errno));
		close(fd);
		return 1;
	}
	shutdown(fd, SHUT_WR);
	char buf[8192];
	ssize_t n;
	bool first = true, error = false;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		if (first && n >= 7 && memcmp(buf, "error: ", 7) == 0)
			error = true;
		first = false;
		fwrite(buf, 1, (size_t)n, error ? stderr : stdout);
	}
	if (n < 0) {
		fprintf(stderr, "rrctl: reading from %s: %s\n", path, strerror(errno));
		error = true;
	}
	if (first) {
		fprintf(stderr, "rrctl: %s closed without a reply\n", path);
		error = true;
	}
	close(fd);
	return error ? 1 : 0;
}

/* The reply to one request line, NUL-terminated; 0 if it is not an "error: " reply. */
static int fetch_reply(const char *path, const char *line, char *buf, size_t cap)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sun.sun_path) || cap < 2)
		return -1;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	size_t len = strlen(line), got = 0;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    write(fd, line, len) != (ssize_t)len || write(fd, "\n", 1) != 1) {
		close(fd);
		return -1;
	}
	shutdown(fd, SHUT_WR);
	ssize_t n;
	while (got < cap - 1 && (n = read(fd, buf + got, cap - 1 - got)) > 0)
		got += (size_t)n;
	close(fd);
	buf[got] = '\0';
	if (got == 0 || strncmp(buf, "error: ", 7) == 0)
		return -1;
	buf[strcspn(buf, "\r\n")] = '\0';
	return 0;
}

/*
 * execvp, except that a binary with file capabilities (ping) runs through its
 * ELF interpreter without them (exec/capless.h says why). Returns on failure.
 */
static void exec_capless(char **argv)
{
	char path[PATH_MAX], interp[PATH_MAX];
	if (capless_resolve(argv[0], path, sizeof(path)) == 0 &&
	    capless_interp_for(path, interp, sizeof(interp)) == 1) {
		char *nargv[capless_argv_slots(argv)];
		capless_build_argv(nargv, interp, path, argv);
		execv(interp, nargv);
		int err = errno;
		fprintf(stderr, "rrctl exec: %s carries file capabilities, and running it through "
			"its ELF interpreter %s failed: %s\n", path, interp, strerror(err));
		errno = err;
		return;
	}
	execvp(argv[0], argv);
}

/*
 * exec [--] CMD runs with librrshim.so preloaded and the shim
 * socket in $RRSHIM_SOCKET (its children inherit both), unprivileged.
 */
static int exec_inside(const char *sock, char **argv)
{
	char shim[512], lib[PATH_MAX];
	if (!argv[0]) {
		fprintf(stderr, "rrctl exec: which command? (rrctl exec -- CMD [ARGS...])\n");
		return 2;
	}
	if (fetch_reply(sock, "shim-path", shim, sizeof(shim)) < 0) {
		fprintf(stderr, "rrctl exec: cannot ask %s for the shim socket (is rrouted "
			"running? -s SOCKET)\n", sock);
		return 1;
	}
	const char *env_lib = getenv("RRSHIM_LIB");
	if (env_lib && *env_lib) {
		snprintf(lib, sizeof(lib), "%s", env_lib);
	} else {
		char self[PATH_MAX];
		ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
		if (n < 0) {
			fprintf(stderr, "rrctl exec: cannot find my own path (/proc/self/exe): %s; "
				"set RRSHIM_LIB\n", strerror(errno));
			return 1;
		}
		self[n] = '\0';
		snprintf(lib, sizeof(lib), "%s/librrshim.so", dirname(self));
	}
	if (access(lib, R_OK) < 0) {
		fprintf(stderr, "rrctl exec: %s: %s (build it with make, or set RRSHIM_LIB)\n", lib,
			strerror(errno));
		return 1;
	}
	const char *old = getenv("LD_PRELOAD");
	char *preload = NULL;
	if (asprintf(&preload, "%s%s%s", lib, old && *old ? " " : "", old && *old ? old : "") < 0) {
		fprintf(stderr, "rrctl exec: out of memory\n");
		return 1;
	}
	if (setenv("LD_PRELOAD", preload, 1) < 0 || setenv("RRSHIM_SOCKET", shim, 1) < 0) {
		fprintf(stderr, "rrctl exec: setenv: %s\n", strerror(errno));
		free(preload);
		return 1;
	}
	free(preload);
	exec_capless(argv);
	fprintf(stderr, "rrctl exec: %s: %s\n", argv[0], strerror(errno));
	return errno == ENOENT ? 127 : 126;
}

int main(int argc, char **argv)
{
	char sock[512];
	default_socket(sock, sizeof(sock));
	int i = 1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		if ((strcmp(argv[i], "-s") == 0 || strcmp(argv[i], "--socket") == 0) && i + 1 < argc) {
			snprintf(sock, sizeof(sock), "%s", argv[++i]);
		} else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return 0;
		} else if (strcmp(argv[i], "--json") == 0 || strcmp(argv[i], "-j") == 0) {
			break;   /* part of the request */
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (i >= argc) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[i], "genkey") == 0 && i + 1 == argc)
		return genkey();
	if (strcmp(argv[i], "pubkey") == 0 && i + 1 == argc)
		return pubkey();
	if (strcmp(argv[i], "exec") == 0) {
		i++;
		if (i < argc && strcmp(argv[i], "--") == 0)
			i++;
		return exec_inside(sock, argv + i);
	}

	char line[1024] = "";
	size_t used = 0;
	for (; i < argc; i++) {
		int n = snprintf(line + used, sizeof(line) - used, "%s%s", used ? " " : "", argv[i]);
		if (n < 0 || (size_t)n >= sizeof(line) - used) {
			fprintf(stderr, "rrctl: request too long\n");
			return 2;
		}
		used += (size_t)n;
	}
	return request(sock, line);
}
