/*
 * Routes of every kind but the connected ones, as the router fixture of
 * test_router.c and the fuzz_ip_input harness both install them: recursive
 * ones through a gateway on wg1 (172.20.2.2, fd42:2::2), and unreachable,
 * prohibit and blackhole for each family. Data only, no cmocka; include
 * after ip/fib.h.
 */
#ifndef RR_TESTS_ROUTE_KINDS_H
#define RR_TESTS_ROUTE_KINDS_H

#include <stdint.h>

struct route_kind {
	const char *prefix;
	uint8_t type;                /* FIB_TYPE_* */
	const char *gateway;         /* NULL: none */
};

static const struct route_kind route_kinds[] = {
	{ "172.22.0.0/16", FIB_TYPE_UNICAST, "172.20.2.2" },
	{ "fd42:70::/32", FIB_TYPE_UNICAST, "fd42:2::2" },
	{ "172.23.0.0/16", FIB_TYPE_UNREACHABLE, NULL },
	{ "fd42:23::/32", FIB_TYPE_UNREACHABLE, NULL },
	{ "172.24.0.0/16", FIB_TYPE_PROHIBIT, NULL },
	{ "fd42:24::/32", FIB_TYPE_PROHIBIT, NULL },
	{ "172.25.0.0/16", FIB_TYPE_BLACKHOLE, NULL },
	{ "fd42:25::/32", FIB_TYPE_BLACKHOLE, NULL },
};

#define N_ROUTE_KINDS (sizeof(route_kinds) / sizeof(route_kinds[0]))

#endif
