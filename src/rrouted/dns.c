#include "rrouted/dns.h"

#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "wg/datapath.h"
#include "wg/device.h"

/* One lookup, owned by the queue it is on (todo: the worker's; done: the loop's). */
struct dns_request {
	struct dns_request *next;
	char iface[IFACE_NAME_MAX + 1];
	uint8_t key[CRYPTO_KEY_LEN];
	char host[256];
	uint16_t port;
	int gai_err;                    /* 0: addr is the answer */
	union sockaddr_inet addr;
};

/* What the loop remembers about one peer with an Endpoint name. */
struct dns_peer {
	char iface[IFACE_NAME_MAX + 1];
	uint8_t key[CRYPTO_KEY_LEN];
	char host[256];
	uint16_t port;
	uint64_t last_lookup;           /* loop clock, 0 = never */
	bool in_flight;
	bool failing;                   /* the current failure streak is logged already */
	bool seen;                      /* mark for the sweep in check() */
};

struct endpoint_dns {
	struct loop *loop;
	struct ip_router *router;
	const struct router_conf *conf;
	struct dns_peer *peers;
	size_t n_peers, cap_peers;
	struct timer tick;
	struct loop_fd done_fd;         /* eventfd: the worker finished something */

	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct dns_request *todo, *done;  /* under mu */
	bool stop, busy;                  /* under mu */
};

/* ---- the worker thread: getaddrinfo and nothing else ---- */

static void resolve(struct dns_request *rq)
{
	struct addrinfo hints = {
		.ai_family = AF_UNSPEC, .ai_socktype = SOCK_DGRAM, .ai_protocol = IPPROTO_UDP,
	};
	struct addrinfo *res = NULL;
	rq->gai_err = getaddrinfo(rq->host, NULL, &hints, &res);
	if (rq->gai_err)
		return;
	/* The first answer in getaddrinfo's order, as wg(8) and the config loader. */
	if (!sockaddr_inet_from_addrinfo(&rq->addr, res, rq->port))
		rq->gai_err = EAI_NONAME;
	freeaddrinfo(res);
}

static void *worker(void *arg)
{
	struct endpoint_dns *dns = arg;
	pthread_mutex_lock(&dns->mu);
	for (;;) {
		while (!dns->stop && !dns->todo)
			pthread_cond_wait(&dns->cv, &dns->mu);
		if (dns->stop)
			break;
		struct dns_request *rq = dns->todo;
		dns->todo = rq->next;
		dns->busy = true;
		pthread_mutex_unlock(&dns->mu);
		resolve(rq);
		pthread_mutex_lock(&dns->mu);
		dns->busy = false;
		rq->next = dns->done;
		dns->done = rq;
		uint64_t one = 1;
		if (write(dns->done_fd.fd, &one, sizeof(one)) < 0) {
			/* The counter cannot overflow at this rate; nothing to do. */
		}
	}
	pthread_mutex_unlock(&dns->mu);
	return NULL;
}

/* ---- the loop side ---- */

static struct dns_peer *find_peer(struct endpoint_dns *dns, const char *iface, const uint8_t *key)
{
	for (size_t i = 0; i < dns->n_peers; i++)
		if (strcmp(dns->peers[i].iface, iface) == 0 &&
		    memcmp(dns->peers[i].key, key, CRYPTO_KEY_LEN) == 0)
			return &dns->peers[i];
	return NULL;
}

static struct wg_peer *live_peer(struct endpoint_dns *dns, const char *iface, const uint8_t *key)
{
	struct netif *nif = ip_router_netif_by_name(dns->router, iface);
	if (!nif || nif->ops->kind != NETIF_KIND_WIREGUARD)
		return NULL;
	return wg_device_peer_by_key(wg_device_of_netif(nif), key);
}

static void apply_result(struct endpoint_dns *dns, struct dns_request *rq)
{
	struct dns_peer *dp = find_peer(dns, rq->iface, rq->key);
	if (dp)
		dp->in_flight = false;
	/* The peer (or its name) may have gone with a reload while the lookup ran. */
	if (!dp || strcmp(dp->host, rq->host) != 0 || dp->port != rq->port)
		return;
	struct wg_peer *peer = live_peer(dns, rq->iface, rq->key);
	if (!peer)
		return;
	if (rq->gai_err) {
		if (!dp->failing)
			log_warn("%s: peer %u: cannot resolve endpoint %s: %s; retrying every %d s",
				 rq->iface, peer->id, rq->host, gai_strerror(rq->gai_err),
				 DNS_RETRY_S);
		else
			log_debug("%s: peer %u: %s still does not resolve: %s", rq->iface, peer->id,
				  rq->host, gai_strerror(rq->gai_err));
		dp->failing = true;
		return;
	}
	dp->failing = false;
	if (peer->has_endpoint && sockaddr_inet_equal(&peer->endpoint, &rq->addr))
		return;
	char buf[SOCKADDR_INET_STRLEN];
	log_info("%s: peer %u: endpoint %s is %s%s", rq->iface, peer->id, rq->host,
		 sockaddr_inet_format(&rq->addr, buf, sizeof(buf)),
		 peer->has_endpoint ? " now (re-resolved)" : "");
	bool first = !peer->has_endpoint;
	wg_peer_configure_endpoint(peer, &rq->addr);
	if (!first)
		return;
	/* What waited for an endpoint goes now; a peer kept alive gets its handshake now
	 * (as when wg setconf gives endpoint and keepalive together), not after traffic. */
	wg_peer_kick(peer);
	if (peer->persistent_keepalive)
		wg_send_keepalive(peer);
}

static void results_ready(struct loop_fd *lfd, uint32_t events)
{
	struct endpoint_dns *dns = container_of(lfd, struct endpoint_dns, done_fd);
	uint64_t n;
	if (read(lfd->fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_warn("endpoint resolver: eventfd: %s", strerror(errno));
	pthread_mutex_lock(&dns->mu);
	struct dns_request *list = dns->done;
	dns->done = NULL;
	pthread_mutex_unlock(&dns->mu);
	while (list) {
		struct dns_request *rq = list;
		list = rq->next;
		apply_result(dns, rq);
		free(rq);
	}
}

static void queue_lookup(struct endpoint_dns *dns, struct dns_peer *dp)
{
	struct dns_request *rq = calloc(1, sizeof(*rq));
	if (!rq)
		return;   /* tried again at the next tick */
	memcpy(rq->iface, dp->iface, sizeof(rq->iface));
	memcpy(rq->key, dp->key, CRYPTO_KEY_LEN);
	memcpy(rq->host, dp->host, sizeof(rq->host));
	rq->port = dp->port;
	dp->in_flight = true;
	dp->last_lookup = loop_now(dns->loop);
	pthread_mutex_lock(&dns->mu);
	rq->next = dns->todo;
	dns->todo = rq;
	pthread_cond_signal(&dns->cv);
	pthread_mutex_unlock(&dns->mu);
}

/* The state for a peer of the configuration, created or updated (a reload may change its name). */
static struct dns_peer *track(struct endpoint_dns *dns, const char *iface,
			      const struct wg_peer_conf *pc)
{
	struct dns_peer *dp = find_peer(dns, iface, pc->public_key);
	if (!dp) {
		if (dns->n_peers == dns->cap_peers) {
			size_t cap = dns->cap_peers ? dns->cap_peers * 2 : 8;
			struct dns_peer *grown = realloc(dns->peers, cap * sizeof(*grown));
			if (!grown)
				return NULL;
			dns->peers = grown;
			dns->cap_peers = cap;
		}
		dp = &dns->peers[dns->n_peers++];
		*dp = (struct dns_peer){ 0 };
		snprintf(dp->iface, sizeof(dp->iface), "%s", iface);
		memcpy(dp->key, pc->public_key, CRYPTO_KEY_LEN);
	}
	if (strcmp(dp->host, pc->endpoint_host) != 0 || dp->port != pc->endpoint_port) {
		snprintf(dp->host, sizeof(dp->host), "%s", pc->endpoint_host);
		dp->port = pc->endpoint_port;
		dp->last_lookup = 0;
		dp->failing = false;
	}
	dp->seen = true;
	return dp;
}

static bool due(struct endpoint_dns *dns, const struct dns_peer *dp, const struct wg_peer *peer)
{
	uint64_t now = loop_now(dns->loop);
	if (dp->in_flight)
		return false;
	if (!dp->last_lookup)
		return true;   /* a name new to us (start, or a reload changed it): look it up now */
	if (!peer->has_endpoint)
		return now - dp->last_lookup >= DNS_RETRY_S * NSEC_PER_SEC;
	if (now - dp->last_lookup < DNS_RERESOLVE_S * NSEC_PER_SEC)
		return false;
	if (!peer->walltime_last_handshake)
		return true;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	uint64_t wall = (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
	return wall - peer->walltime_last_handshake >= DNS_STALE_S * NSEC_PER_SEC;
}

void endpoint_dns_check(struct endpoint_dns *dns)
{
	for (size_t i = 0; i < dns->n_peers; i++)
		dns->peers[i].seen = false;
	for (size_t i = 0; i < dns->conf->n_ifaces; i++) {
		const struct wg_iface_conf *ic = &dns->conf->ifaces[i];
		for (size_t p = 0; p < ic->n_peers; p++) {
			const struct wg_peer_conf *pc = &ic->peers[p];
			if (!pc->endpoint_is_name)
				continue;
			struct dns_peer *dp = track(dns, ic->name, pc);
			struct wg_peer *peer = live_peer(dns, ic->name, pc->public_key);
			if (!dp || !peer)
				continue;
			if (!peer->has_endpoint && !dp->last_lookup)
				log_info("%s: peer %u: resolving endpoint %s in the background",
					 ic->name, peer->id, pc->endpoint_text);
			if (due(dns, dp, peer))
				queue_lookup(dns, dp);
		}
	}
	/* Peers gone from the configuration; one still being looked up waits for its answer. */
	size_t kept = 0;
	for (size_t i = 0; i < dns->n_peers; i++)
		if (dns->peers[i].seen || dns->peers[i].in_flight)
			dns->peers[kept++] = dns->peers[i];
	dns->n_peers = kept;
}

static void tick(struct timer *t)
{
	struct endpoint_dns *dns = container_of(t, struct endpoint_dns, tick);
	endpoint_dns_check(dns);
	timer_arm(dns->loop, &dns->tick, loop_now(dns->loop) + DNS_RETRY_S * NSEC_PER_SEC,
		  NSEC_PER_SEC / 2);
}

struct endpoint_dns *endpoint_dns_new(struct loop *loop, struct ip_router *router,
				      const struct router_conf *conf)
{
	struct endpoint_dns *dns = calloc(1, sizeof(*dns));
	if (!dns)
		return NULL;
	dns->loop = loop;
	dns->router = router;
	dns->conf = conf;
	timer_init(&dns->tick, tick);
	dns->done_fd.cb = results_ready;
	dns->done_fd.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (dns->done_fd.fd < 0)
		goto fail;
	if (loop_add_fd(loop, &dns->done_fd, EPOLLIN) < 0)
		goto fail_fd;
	pthread_mutex_init(&dns->mu, NULL);
	pthread_cond_init(&dns->cv, NULL);
	/* The worker must not take signals meant for the loop's signalfd: they stay blocked in it. */
	if (pthread_create(&dns->thread, NULL, worker, dns) != 0)
		goto fail_loop;
	timer_arm(loop, &dns->tick, loop_now(loop) + DNS_RETRY_S * NSEC_PER_SEC, NSEC_PER_SEC / 2);
	return dns;
fail_loop:
	pthread_cond_destroy(&dns->cv);
	pthread_mutex_destroy(&dns->mu);
	loop_del_fd(loop, &dns->done_fd);
fail_fd:
	close(dns->done_fd.fd);
fail:
	free(dns);
	return NULL;
}

void endpoint_dns_free(struct endpoint_dns *dns)
{
	if (!dns)
		return;
	timer_cancel(dns->loop, &dns->tick);
	loop_del_fd(dns->loop, &dns->done_fd);
	pthread_mutex_lock(&dns->mu);
	dns->stop = true;
	bool busy = dns->busy;
	pthread_cond_signal(&dns->cv);
	pthread_mutex_unlock(&dns->mu);
	if (busy) {
		/*
		 * A lookup can hang for the resolver's whole timeout; shutdown must not.
		 * The thread keeps dns (and the eventfd) until the process exits.
		 */
		pthread_detach(dns->thread);
		return;
	}
	pthread_join(dns->thread, NULL);
	while (dns->todo) {
		struct dns_request *rq = dns->todo;
		dns->todo = rq->next;
		free(rq);
	}
	while (dns->done) {
		struct dns_request *rq = dns->done;
		dns->done = rq->next;
		free(rq);
	}
	close(dns->done_fd.fd);
	pthread_cond_destroy(&dns->cv);
	pthread_mutex_destroy(&dns->mu);
	free(dns->peers);
	free(dns);
}
