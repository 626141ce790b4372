/* nl/sock_diag.c: inet_diag requests and replies, as ss sends and reads them. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "nl/sock_diag.h"

#define PORTID 0x40000007u

/* A request as ss builds it: SOCK_DIAG_BY_FAMILY + inet_diag_req_v2. */
static size_t build_req(uint8_t *buf, uint16_t flags, uint32_t seq, uint8_t family,
			uint8_t protocol, uint32_t states, uint8_t ext)
{
	struct nlmsghdr h = { .nlmsg_len = NLMSG_LENGTH(sizeof(struct inet_diag_req_v2)),
			      .nlmsg_type = SOCK_DIAG_BY_FAMILY, .nlmsg_flags = flags,
			      .nlmsg_seq = seq };
	struct inet_diag_req_v2 r = { .sdiag_family = family, .sdiag_protocol = protocol,
				      .idiag_ext = ext, .idiag_states = states };
	memcpy(buf, &h, sizeof(h));
	memcpy(buf + NLMSG_HDRLEN, &r, sizeof(r));
	return h.nlmsg_len;
}

static struct sock_diag_entry entry(uint8_t family, uint8_t protocol, uint8_t state,
				    const char *src, uint16_t sport, const char *dst,
				    uint16_t dport)
{
	struct sock_diag_entry e;
	memset(&e, 0, sizeof(e));
	e.family = family;
	e.protocol = protocol;
	e.state = state;
	if (src)
		assert_int_equal(inet_pton(family, src, e.src), 1);
	if (dst)
		assert_int_equal(inet_pton(family, dst, e.dst), 1);
	e.sport = sport;
	e.dport = dport;
	e.rqueue = 3;
	e.wqueue = 128;
	e.uid = 65534;
	e.inode = 4242;
	e.cookie = 0x0000000900000011ull;
	return e;
}

/* Every message of every datagram in q, flattened, each checked for framing. */
struct parsed {
	struct nlmsghdr h[64];
	struct inet_diag_msg m[64];
	int err[64];
	size_t n, n_dgrams;
	bool meminfo[64];
};

static void parse(struct sock_diag_queue *q, struct parsed *p)
{
	memset(p, 0, sizeof(*p));
	for (struct sock_diag_dgram *d = q->head; d; d = d->next) {
		p->n_dgrams++;
		assert_true(d->len <= SOCK_DIAG_DGRAM_MAX);
		size_t off = 0;
		while (off < d->len) {
			struct nlmsghdr h;
			assert_true(d->len - off >= sizeof(h));
			memcpy(&h, d->data + off, sizeof(h));
			assert_true(h.nlmsg_len >= sizeof(h) && h.nlmsg_len <= d->len - off);
			assert_int_equal(h.nlmsg_pid, PORTID);
			if (p->n < 64) {
				p->h[p->n] = h;
				if (h.nlmsg_type == SOCK_DIAG_BY_FAMILY) {
					assert_true(h.nlmsg_len >= NLMSG_LENGTH(sizeof(p->m[0])));
					memcpy(&p->m[p->n], d->data + off + NLMSG_HDRLEN, sizeof(p->m[0]));
					/* attributes: find MEMINFO */
					size_t a = off + NLMSG_LENGTH(sizeof(p->m[0]));
					while (a + 4 <= off + h.nlmsg_len) {
						struct nlattr na;
						memcpy(&na, d->data + a, sizeof(na));
						assert_true(na.nla_len >= 4);
						if (na.nla_type == INET_DIAG_MEMINFO)
							p->meminfo[p->n] = true;
						a += NLA_ALIGN(na.nla_len);
					}
				} else if (h.nlmsg_type == NLMSG_ERROR) {
					struct nlmsgerr e;
					assert_true(h.nlmsg_len >= NLMSG_LENGTH(sizeof(e)));
					memcpy(&e, d->data + off + NLMSG_HDRLEN, sizeof(e));
					p->err[p->n] = e.error;
				}
			}
			p->n++;
			off += NLMSG_ALIGN(h.nlmsg_len);
		}
	}
}

static struct sock_diag_entry table[6];
static size_t n_table;

static int setup(void **state)
{
	n_table = 0;
	table[n_table++] = entry(AF_INET, IPPROTO_TCP, SOCK_DIAG_LISTEN, "0.0.0.0", 179, NULL, 0);
	table[n_table++] = entry(AF_INET, IPPROTO_TCP, SOCK_DIAG_ESTABLISHED, "172.20.0.1", 179,
				 "172.20.1.1", 40000);
	table[n_table++] = entry(AF_INET6, IPPROTO_TCP, SOCK_DIAG_LISTEN, "::", 8080, NULL, 0);
	table[n_table++] = entry(AF_INET, IPPROTO_UDP, SOCK_DIAG_CLOSE, "0.0.0.0", 53, NULL, 0);
	table[n_table++] = entry(AF_INET6, IPPROTO_UDP, SOCK_DIAG_ESTABLISHED, "fd42::1", 5000,
				 "fd42::2", 6000);
	return 0;
}

static void test_dump_tcp4_all_states(void **state)
{
	uint8_t req[128];
	struct sock_diag_queue q = { 0 };
	struct parsed p;
	size_t len = build_req(req, NLM_F_REQUEST | NLM_F_DUMP, 77, AF_INET, IPPROTO_TCP, ~0u, 0);
	assert_int_equal(sock_diag_request(req, len, PORTID, table, n_table, &q), 0);
	parse(&q, &p);
	assert_int_equal(p.n, 3);   /* listener, connection, DONE */
	assert_int_equal(p.h[0].nlmsg_type, SOCK_DIAG_BY_FAMILY);
	assert_int_equal(p.h[0].nlmsg_flags, NLM_F_MULTI);
	assert_int_equal(p.h[0].nlmsg_seq, 77);
	assert_int_equal(p.m[0].idiag_family, AF_INET);
	assert_int_equal(p.m[0].idiag_state, SOCK_DIAG_LISTEN);
	assert_int_equal(ntohs(p.m[0].id.idiag_sport), 179);
	assert_int_equal(p.m[1].idiag_state, SOCK_DIAG_ESTABLISHED);
	assert_int_equal(ntohs(p.m[1].id.idiag_dport), 40000);
	uint8_t a[4];
	inet_pton(AF_INET, "172.20.1.1", a);
	assert_memory_equal(p.m[1].id.idiag_dst, a, 4);
	assert_int_equal(p.m[1].idiag_rqueue, 3);
	assert_int_equal(p.m[1].idiag_wqueue, 128);
	assert_int_equal(p.m[1].idiag_uid, 65534);
	assert_int_equal(p.m[1].idiag_inode, 4242);
	assert_int_equal(p.m[1].id.idiag_cookie[0], 0x11);
	assert_int_equal(p.m[1].id.idiag_cookie[1], 0x9);
	assert_false(p.meminfo[1]);
	assert_int_equal(p.h[2].nlmsg_type, NLMSG_DONE);
	assert_int_equal(p.h[2].nlmsg_flags, NLM_F_MULTI);
	assert_int_equal(p.h[2].nlmsg_seq, 77);
	sock_diag_queue_clear(&q);
	assert_null(q.head);
}

/* ss -l asks for listening states only; ss -u for UDP, where "listening" is CLOSE. */
static void test_state_mask_and_protocol(void **state)
{
	uint8_t req[128];
	struct sock_diag_queue q = { 0 };
	struct parsed p;
	size_t len = build_req(req, NLM_F_REQUEST | NLM_F_DUMP, 1, AF_INET6, IPPROTO_TCP,
			       1u << SOCK_DIAG_LISTEN, 0);
	assert_int_equal(sock_diag_request(req, len, PORTID, table, n_table, &q), 0);
	parse(&q, &p);
	assert_int_equal(p.n, 2);
	assert_int_equal(p.m[0].idiag_family, AF_INET6);
	assert_int_equal(ntohs(p.m[0].id.idiag_sport), 8080);
	sock_diag_queue_clear(&q);

	len = build_req(req, NLM_F_REQUEST | NLM_F_DUMP, 2, AF_INET, IPPROTO_UDP,
			1u << SOCK_DIAG_CLOSE, 1u << (INET_DIAG_MEMINFO - 1));
	assert_int_equal(sock_diag_request(req, len, PORTID, table, n_table, &q), 0);
	parse(&q, &p);
	assert_int_equal(p.n, 2);
	assert_int_equal(ntohs(p.m[0].id.idiag_sport), 53);
	assert_true(p.meminfo[0]);
	sock_diag_queue_clear(&q);

	/* Nothing matches: DONE alone. */
	len = build_req(req, NLM_F_REQUEST | NLM_F_DUMP, 3, AF_INET6, IPPROTO_UDP,
			1u << SOCK_DIAG_LISTEN, 0);
	assert_int_equal(sock_diag_request(req, len, PORTID, table, n_table, &q), 0);
	parse(&q, &p);
	assert_int_equal(p.n, 1);
	assert_int_equal(p.h[0].nlmsg_type, NLMSG_DONE);
	sock_diag_queue_clear(&q);
}

static void test_exact_lookup(void **state)
{
	uint8_t req[128];
	struct sock_diag_queue q = { 0 };
	struct parsed p;
	size_t len = build_req(req, NLM_F_REQUEST, 9, AF_INET, IPPROTO_TCP, ~0u, 0);
	struct inet_diag_req_v2 r;
	memcpy(&r, req + NLMSG_HDRLEN, sizeof(r));
	r.id.idiag_sport = htons(179);
	r.id.idiag_dport = htons(40000);
	inet_pton(AF_INET, "172.20.0.1", r.id.idiag_src);
	inet_pton(AF_INET, "172.20.1.1", r.id.idiag_dst);
	r.id.idiag_cookie[0] = r.id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;
	memcpy(req + NLMSG_HDRLEN, &r, sizeof(r));
	assert_int_equal(sock_diag_request(req, len, PORTID, table, n_table, &q), 0);
	parse(&q, &p);
	assert_int_equal(p.n, 1);
	assert_int_equal(p.h[0].nlmsg_type, SOCK_DIAG_BY_FAMILY);
	assert_int_equal(p.h[0].nlmsg_flags, 0);
	sock_diag_queue_clear(&q);

	/* The wrong cookie: no such socket. */
	r.id.idiag_cookie[0] = 0x12;
	r.id.idiag_cookie[1] = 0x9;
	memcpy(req + NLMSG_HDRLEN, &r, sizeof(r));
	assert_int_equal(sock_diag_request(req, len, PORTID, table, n_table, &q), 0);
	parse(&q, &p);
	assert_int_equal(p.n, 1);
	assert_int_equal(p.h[0].nlmsg_type, NLMSG_ERROR);
	assert_int_equal(p.err[0], -ENOENT);
	sock_diag_queue_clear(&q);
}

static void test_errors(void **state)
{
	uint8_t req[128];
	struct sock_diag_queue q = { 0 };
	struct parsed p;
	/* AF_UNIX (ss -x): no diag module here, as a kernel without unix_diag. */
	size_t len = build_req(req, NLM_F_REQUEST | NLM_F_DUMP, 4, AF_UNIX, 0, ~0u, 0);
	assert_int_equal(sock_diag_request(req, len, PORTID, table, n_table, &q), 0);
	parse(&q, &p);
	assert_int_equal(p.n, 1);
	assert_int_equal(p.err[0], -ENOENT);
	assert_int_equal(p.h[0].nlmsg_seq, 4);
	sock_diag_queue_clear(&q);
	/* Raw sockets, MPTCP...: -ENOENT too. */
	len = build_req(req, NLM_F_REQUEST | NLM_F_DUMP, 5, AF_INET, IPPROTO_RAW, ~0u, 0);
	assert_int_equal(sock_diag_request(req, len, PORTID, table, n_table, &q), 0);
	parse(&q, &p);
	assert_int_equal(p.err[0], -ENOENT);
	sock_diag_queue_clear(&q);
	/* Another message type (the old TCPDIAG_GETSOCK): -EINVAL. */
	len = build_req(req, NLM_F_REQUEST | NLM_F_DUMP, 6, AF_INET, IPPROTO_TCP, ~0u, 0);
	((struct nlmsghdr *)req)->nlmsg_type = 18;
	assert_int_equal(sock_diag_request(req, len, PORTID, table, n_table, &q), 0);
	parse(&q, &p);
	assert_int_equal(p.err[0], -EINVAL);
	sock_diag_queue_clear(&q);
	/* A payload shorter than inet_diag_req_v2: -EINVAL. */
	len = build_req(req, NLM_F_REQUEST | NLM_F_DUMP, 7, AF_INET, IPPROTO_TCP, ~0u, 0);
	((struct nlmsghdr *)req)->nlmsg_len = NLMSG_LENGTH(8);
	assert_int_equal(sock_diag_request(req, NLMSG_LENGTH(8), PORTID, table, n_table, &q), 0);
	parse(&q, &p);
	assert_int_equal(p.err[0], -EINVAL);
	sock_diag_queue_clear(&q);
	/* A length past the datagram, a short header, a non-request: ignored. */
	len = build_req(req, NLM_F_REQUEST | NLM_F_DUMP, 8, AF_INET, IPPROTO_TCP, ~0u, 0);
	assert_int_equal(sock_diag_request(req, len - 1, PORTID, table, n_table, &q), 0);
	assert_int_equal(sock_diag_request(req, 10, PORTID, table, n_table, &q), 0);
	((struct nlmsghdr *)req)->nlmsg_flags = NLM_F_DUMP;
	assert_int_equal(sock_diag_request(req, len, PORTID, table, n_table, &q), 0);
	assert_null(q.head);
}

/* Two requests in one datagram are both answered, in order. */
static void test_two_requests_in_one_datagram(void **state)
{
	uint8_t req[256];
	struct sock_diag_queue q = { 0 };
	struct parsed p;
	size_t l1 = build_req(req, NLM_F_REQUEST | NLM_F_DUMP, 10, AF_INET, IPPROTO_TCP, ~0u, 0);
	size_t l2 = build_req(req + NLMSG_ALIGN(l1), NLM_F_REQUEST | NLM_F_DUMP, 11, AF_INET6,
			      IPPROTO_UDP, ~0u, 0);
	assert_int_equal(sock_diag_request(req, NLMSG_ALIGN(l1) + l2, PORTID, table, n_table, &q),
			 0);
	parse(&q, &p);
	assert_int_equal(p.n, 5);   /* 2 + DONE, 1 + DONE */
	assert_int_equal(p.h[2].nlmsg_type, NLMSG_DONE);
	assert_int_equal(p.h[2].nlmsg_seq, 10);
	assert_int_equal(p.h[3].nlmsg_seq, 11);
	assert_int_equal(p.m[3].idiag_family, AF_INET6);
	assert_int_equal(p.h[4].nlmsg_type, NLMSG_DONE);
	sock_diag_queue_clear(&q);
}

/* A thousand sockets: several datagrams, none above the limit, no message lost or split. */
static void test_large_dump_is_split(void **state)
{
	size_t n = 1000;
	struct sock_diag_entry *big = calloc(n, sizeof(*big));
	assert_non_null(big);
	for (size_t i = 0; i < n; i++)
		big[i] = entry(AF_INET, IPPROTO_TCP, SOCK_DIAG_ESTABLISHED, "172.20.0.1",
			       (uint16_t)(1000 + i), "172.20.1.1", 80);
	uint8_t req[128];
	struct sock_diag_queue q = { 0 };
	size_t len = build_req(req, NLM_F_REQUEST | NLM_F_DUMP, 12, AF_INET, IPPROTO_TCP, ~0u, 0);
	assert_int_equal(sock_diag_request(req, len, PORTID, big, n, &q), 0);
	size_t msgs = 0, dgrams = 0, next_port = 1000;
	bool done = false;
	for (struct sock_diag_dgram *d = q.head; d; d = d->next) {
		dgrams++;
		assert_true(d->len <= SOCK_DIAG_DGRAM_MAX);
		for (size_t off = 0; off < d->len;) {
			struct nlmsghdr h;
			memcpy(&h, d->data + off, sizeof(h));
			assert_true(h.nlmsg_len <= d->len - off);
			if (h.nlmsg_type == SOCK_DIAG_BY_FAMILY) {
				struct inet_diag_msg m;
				memcpy(&m, d->data + off + NLMSG_HDRLEN, sizeof(m));
				assert_int_equal(ntohs(m.id.idiag_sport), next_port++);
				msgs++;
			} else {
				assert_int_equal(h.nlmsg_type, NLMSG_DONE);
				assert_null(d->next);
				done = true;
			}
			off += NLMSG_ALIGN(h.nlmsg_len);
		}
	}
	assert_int_equal(msgs, n);
	assert_true(done);
	assert_true(dgrams > 1);
	sock_diag_queue_clear(&q);
	free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_dump_tcp4_all_states, setup),
		cmocka_unit_test_setup(test_state_mask_and_protocol, setup),
		cmocka_unit_test_setup(test_exact_lookup, setup),
		cmocka_unit_test_setup(test_errors, setup),
		cmocka_unit_test_setup(test_two_requests_in_one_datagram, setup),
		cmocka_unit_test_setup(test_large_dump_is_split, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
