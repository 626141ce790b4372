/*
 * libFuzzer harness for the config parsers and the reload diff. The input is
 * a wg-quick file, then optionally a NUL byte and an rrouted.conf. Endpoints
 * resolve only numerically or are deferred (no DNS) and the router text never reads an interfaces
 * directory, so a run touches nothing outside the process.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conf/confdiff.h"
#include "conf/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct conf_errors errs;
	struct wg_iface_conf iface;
	struct router_conf router;
	char *text = malloc(size + 1);

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';

	memset(&errs, 0, sizeof(errs));
	if (wg_iface_conf_parse_string(text, "fuzz.conf", "wg0", CONF_NUMERIC_ONLY,
				       &iface, &errs) == 0) {
		/* A clean load must be internally consistent. */
		if (iface.mtu < MTU_MIN || iface.mtu > 1920)
			abort();
		for (size_t i = 0; i < iface.n_peers; i++)
			for (size_t j = 0; j < iface.peers[i].n_allowed_ips; j++)
				if (ip_prefix_has_host_bits(&iface.peers[i].allowed_ips[j]))
					abort();
	} else if (errs.count == 0) {
		abort();                    /* a failure must say why */
	}
	wg_iface_conf_free(&iface);

	/*
	 * Names deferred (as the daemon loads: never a DNS query): two loads of
	 * the same text must be the same configuration to a reload.
	 */
	struct wg_iface_conf a, b;
	memset(&errs, 0, sizeof(errs));
	int ra = wg_iface_conf_parse_string(text, "fuzz.conf", "wg0", CONF_DEFER_NAMES, &a, &errs);
	int rb = wg_iface_conf_parse_string(text, "fuzz.conf", "wg0", CONF_DEFER_NAMES, &b, &errs);
	if (ra != rb)
		abort();
	if (ra == 0) {
		struct router_conf ca = { .ifaces = &a, .n_ifaces = 1 };
		struct router_conf cb = { .ifaces = &b, .n_ifaces = 1 };
		struct confdiff diff;
		if (confdiff_compute(&ca, &cb, &diff) == 0) {
			if (!confdiff_empty(&diff))
				abort();
			confdiff_free(&diff);
		}
	}
	wg_iface_conf_free(&a);
	wg_iface_conf_free(&b);

	size_t first = strlen(text);
	if (first < size) {
		memset(&errs, 0, sizeof(errs));
		if (router_conf_parse_string(text + first + 1, "fuzz/rrouted.conf",
					     CONF_NUMERIC_ONLY | CONF_SKIP_INTERFACES,
					     &router, &errs) != 0 && errs.count == 0)
			abort();
		router_conf_free(&router);
	}
	free(text);
	return 0;
}
