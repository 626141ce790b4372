/*
 * src/rrouted/reload.c against a real router and real WireGuard devices
 * (UDP on loopback ports), configurations in a temporary directory. The
 * daemon's module is compiled in here: it is not part of librr.a.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../src/rrouted/reload.c"

#include "crypto/crypto.h"

struct fx {
	char dir[64];
	struct loop loop;
	struct ip_router router;
	struct router_conf conf;
	struct reload_target t;
	char keys[4][KEY_BASE64_LEN + 1];   /* private keys */
	char pubs[4][KEY_BASE64_LEN + 1];
};

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void write_iface(struct fx *f, const char *name, int key, int port, const char *addr,
			int peer)
{
	char path[160], text[1024];
	snprintf(path, sizeof(path), "%s/ifaces/%s.conf", f->dir, name);
	snprintf(text, sizeof(text),
		 "[Interface]\nPrivateKey = %s\nListenPort = %d\nAddress = %s\n\n"
		 "[Peer]\nPublicKey = %s\nAllowedIPs = 172.20.%d.0/24\n",
		 f->keys[key], port, addr, f->pubs[peer], 10 + peer);
	write_file(path, text);
}

/* A UDP socket bound to a port the kernel picked, on every address; *port gets the port. */
static int hold_udp_port(int *port)
{
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	*port = ntohs(a.sin_port);
	return fd;
}

/* A UDP port nobody uses right now (bound and released). */
static int free_port(void)
{
	int port;
	close(hold_udp_port(&port));
	return port;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	assert_int_equal(crypto_init(), 0);
	snprintf(f->dir, sizeof(f->dir), "/tmp/rr-reload.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	char path[160];
	snprintf(path, sizeof(path), "%s/ifaces", f->dir);
	assert_int_equal(mkdir(path, 0700), 0);
	for (int i = 0; i < 4; i++) {
		uint8_t k[CRYPTO_KEY_LEN], p[CRYPTO_KEY_LEN];
		x25519_generate(k);
		assert_int_equal(x25519_public(p, k), 0);
		key_to_base64(f->keys[i], k);
		key_to_base64(f->pubs[i], p);
	}
	snprintf(path, sizeof(path), "%s/rrouted.conf", f->dir);
	char text[512];
	snprintf(text, sizeof(text), "[router]\ninterfaces = ifaces\ncontrol = %s/ctl.sock\n", f->dir);
	write_file(path, text);
	write_iface(f, "wg0", 0, free_port(), "172.20.1.1/32", 1);

	assert_int_equal(loop_init(&f->loop), 0);
	assert_int_equal(ip_router_init(&f->router, &f->loop), 0);
	struct conf_errors errs = { 0 };
	assert_int_equal(router_conf_load_flags(path, CONF_DEFER_NAMES, &f->conf, &errs), 0);
	for (size_t i = 0; i < f->conf.n_ifaces; i++)
		assert_non_null(wg_device_create(&f->loop, &f->router, &f->conf.ifaces[i]));
	reload_install_routes(&f->router, &f->conf);
	f->t = (struct reload_target){ .loop = &f->loop, .router = &f->router, .conf = &f->conf };
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	ip_router_destroy_netifs(&f->router);
	ip_router_free(&f->router);
	loop_free(&f->loop);
	router_conf_free(&f->conf);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static bool has_route(struct fx *f, const char *dst)
{
	struct ip_addr a;
	struct fib_route rt;
	assert_int_equal(ip_addr_parse(dst, &a), 0);
	return fib_lookup(f->router.fib, &a, &rt) == 0;
}

/* Add, change and remove interfaces; unchanged ones keep their device (and so their sessions). */
static void test_add_change_remove(void **state)
{
	struct fx *f = *state;
	struct netif *wg0 = ip_router_netif_by_name(&f->router, "wg0");
	assert_non_null(wg0);
	struct strbuf out;
	strbuf_init(&out);
	assert_int_equal(reload_apply(&f->t, &out), 0);
	assert_string_equal(out.data, "no changes\n");

	write_iface(f, "wg1", 2, free_port(), "172.20.2.1/32", 3);
	strbuf_reset(&out);
	assert_int_equal(reload_apply(&f->t, &out), 0);
	assert_string_equal(out.data, "wg1: added (1 peer)\n");
	assert_ptr_equal(ip_router_netif_by_name(&f->router, "wg0"), wg0);   /* untouched */
	assert_non_null(ip_router_netif_by_name(&f->router, "wg1"));
	assert_true(has_route(f, "172.20.13.5"));
	assert_int_equal(f->conf.n_ifaces, 2);

	/* wg0 changes address and peer (AllowedIPs 172.20.11/24 -> 172.20.12/24): in place. */
	write_iface(f, "wg0", 0, f->conf.ifaces[0].listen_port, "172.20.1.2/32", 2);
	strbuf_reset(&out);
	assert_int_equal(reload_apply(&f->t, &out), 0);
	assert_string_equal(out.data,
			    "wg0: changed: peers +1 -1 ~0 addresses +1 -1 routes +1 -1\n");
	assert_ptr_equal(ip_router_netif_by_name(&f->router, "wg0"), wg0);
	assert_int_equal(wg0->n_addrs, 1);
	char buf[IP_PREFIX_STRLEN];
	assert_string_equal(ip_prefix_format(&wg0->addrs[0], buf), "172.20.1.2/32");
	assert_false(has_route(f, "172.20.11.5"));
	assert_true(has_route(f, "172.20.12.5"));
	assert_int_equal(wg_device_of_netif(wg0)->n_peers, 1);

	char path[160];
	snprintf(path, sizeof(path), "%s/ifaces/wg1.conf", f->dir);
	assert_int_equal(unlink(path), 0);
	strbuf_reset(&out);
	assert_int_equal(reload_apply(&f->t, &out), 0);
	assert_string_equal(out.data, "wg1: removed\n");
	assert_null(ip_router_netif_by_name(&f->router, "wg1"));
	assert_false(has_route(f, "172.20.13.5"));
	assert_true(has_route(f, "172.20.12.5"));
	strbuf_free(&out);
}

/*
 * All or nothing: two new interfaces, the second cannot bind its port (we
 * hold it). The first, already created, is undone; the running
 * configuration and the router stay as they were, and the error names the file.
 */
static void test_failed_step_is_undone(void **state)
{
	struct fx *f = *state;
	int held;
	int fd = hold_udp_port(&held);
	write_iface(f, "wg1", 2, free_port(), "172.20.2.1/32", 3);
	write_iface(f, "wg2", 3, held, "172.20.3.1/32", 2);
	size_t n_before = f->router.n_netifs;
	struct strbuf out;
	strbuf_init(&out);
	assert_int_equal(reload_apply(&f->t, &out), -1);
	assert_non_null(strstr(out.data, "error: reload failed"));
	assert_non_null(strstr(out.data, "/ifaces/wg2.conf: cannot create interface wg2"));
	assert_int_equal(f->router.n_netifs, n_before);
	assert_null(ip_router_netif_by_name(&f->router, "wg1"));
	assert_false(has_route(f, "172.20.13.5"));
	assert_int_equal(f->conf.n_ifaces, 1);
	close(fd);
	/* With the port free, the same files load. */
	strbuf_reset(&out);
	assert_int_equal(reload_apply(&f->t, &out), 0);
	assert_non_null(ip_router_netif_by_name(&f->router, "wg2"));
	strbuf_free(&out);
}

/* A file with an error changes nothing and is named with its line. */
static void test_parse_error(void **state)
{
	struct fx *f = *state;
	char path[160];
	snprintf(path, sizeof(path), "%s/ifaces/wg0.conf", f->dir);
	write_file(path, "[Interface]\nPrivateKey = nope\n");
	struct strbuf out;
	strbuf_init(&out);
	assert_int_equal(reload_apply(&f->t, &out), -1);
	assert_non_null(strstr(out.data, "/ifaces/wg0.conf:2: PrivateKey"));
	assert_non_null(ip_router_netif_by_name(&f->router, "wg0"));
	assert_true(has_route(f, "172.20.11.5"));
	strbuf_free(&out);
}

/* A new file may not take the name of an interface made at runtime (ip link add). */
static void test_runtime_name_taken(void **state)
{
	struct fx *f = *state;
	int err = 0;
	assert_non_null(wg_device_create_empty(&f->loop, &f->router, "wg9", &err));
	write_iface(f, "wg9", 2, free_port(), "172.20.2.1/32", 3);
	struct strbuf out;
	strbuf_init(&out);
	assert_int_equal(reload_apply(&f->t, &out), -1);
	assert_non_null(strstr(out.data, "interface wg9 already exists"));
	strbuf_free(&out);
}

int main(void)
{
	log_set_level(LOG_ERROR);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_add_change_remove, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failed_step_is_undone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_parse_error, setup, teardown),
		cmocka_unit_test_setup_teardown(test_runtime_name_taken, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
