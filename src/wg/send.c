/*
 * The send path: IP packets are staged on their peer, then encrypted in
 * place (header pushed into the headroom, tag appended in the tailroom) under
 * the current session and sent to the peer's endpoint. Without a usable
 * session the packets wait and a handshake starts.
 */
#include <endian.h>
#include <errno.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "wg/datapath.h"
#include "wg/device.h"
#include "wg/messages.h"
#include "wg/peer.h"
#include "wg/timers.h"

static uint64_t realtime_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

static void send_buffer(struct wg_peer *peer, const void *data, size_t len)
{
	if (wg_device_send_to_peer(peer->dev, peer, data, len) == 0)
		peer->tx_bytes += len;
	else
		netif_drop(&peer->dev->netif, DROP_SEND_FAILED);
}

void wg_send_handshake_initiation(struct wg_peer *peer, bool is_retry)
{
	struct wg_device *dev = peer->dev;
	uint64_t now = loop_now(dev->loop);

	if (!is_retry)
		peer->handshake_attempts = 0;
	/* At most one initiation per REKEY_TIMEOUT, whatever asks for it. */
	if (peer->last_sent_handshake && now - peer->last_sent_handshake < REKEY_TIMEOUT)
		return;
	if (!peer->has_endpoint) {
		log_debug("%s: peer %u has no endpoint yet, waiting for it to initiate",
			  dev->netif.name, peer->id);
		return;
	}
	if (!dev->identity.has_identity) {
		log_debug("%s: no private key: no handshake with peer %u", dev->netif.name, peer->id);
		return;
	}
	if (dev->netif.down)
		return;   /* a down link sends nothing (ip_router_set_up) */
	peer->last_sent_handshake = now;

	struct message_handshake_initiation msg;
	index_table_insert(&peer->handshake_entry, INDEX_HANDSHAKE, peer);
	int r = noise_handshake_create_initiation(&peer->handshake, &dev->identity, &msg,
						  peer->handshake_entry.index, realtime_ns());
	if (r < 0) {
		index_table_remove(&peer->handshake_entry);
		log_warn("%s: peer %u: cannot create a handshake initiation (%s)",
			 dev->netif.name, peer->id, strerror(-r));
		return;
	}
	cookie_add_macs(&peer->cookie, &msg, sizeof(msg), now);
	log_debug("%s: peer %u: sending handshake initiation", dev->netif.name, peer->id);
	wg_timers_any_authenticated_packet_traversal(peer);
	wg_timers_any_authenticated_packet_sent(peer);
	send_buffer(peer, &msg, sizeof(msg));
	wg_timers_handshake_initiated(peer);
}

static bool keypair_usable_for_sending(const struct wg_keypair *kp, uint64_t now)
{
	return kp && kp->valid && now - kp->birthdate < REJECT_AFTER_TIME &&
	       kp->send_counter < REJECT_AFTER_MESSAGES;
}

/* Rekey as initiator when the session is old or worn (whitepaper 6.2). */
static void keep_key_fresh_on_send(struct wg_peer *peer)
{
	struct wg_keypair *kp = peer->current;
	uint64_t now = loop_now(peer->dev->loop);
	if (kp && kp->valid &&
	    (kp->send_counter > REKEY_AFTER_MESSAGES ||
	     (kp->i_am_initiator && now - kp->birthdate > REKEY_AFTER_TIME)))
		wg_send_handshake_initiation(peer, false);
}

/* Encrypts b in place into a transport message. 0, or -1 if b lacks room. */
static int encrypt_in_place(struct wg_peer *peer, struct wg_keypair *kp, struct pbuf *b)
{
	size_t plain = b->len;
	size_t padded = message_padded_len(plain, peer->dev->netif.mtu);
	if (padded > plain) {
		uint8_t *pad = pbuf_put(b, padded - plain);
		if (!pad)
			return -1;
		memset(pad, 0, padded - plain);
	}
	uint8_t *tag = pbuf_put(b, CRYPTO_AEAD_TAG_LEN);
	struct message_data *hdr = (struct message_data *)pbuf_push(b, MESSAGE_DATA_HEADER_LEN);
	if (!tag || !hdr)
		return -1;
	uint64_t counter = kp->send_counter++;
	message_header_set(&hdr->header, MESSAGE_DATA);
	hdr->key_idx = htole32(kp->remote_index);
	hdr->counter = htole64(counter);
	return aead_ctx_seal(&kp->send, counter, (uint8_t *)hdr + MESSAGE_DATA_HEADER_LEN,
			     padded, tag);
}

void wg_send_staged(struct wg_peer *peer)
{
	struct wg_device *dev = peer->dev;
	uint64_t now = loop_now(dev->loop);
	struct wg_keypair *kp = peer->current;

	if (!peer->has_endpoint) {
		if (peer->staged.len)
			log_debug("%s: peer %u has no endpoint; %u packets wait for it to connect",
				  dev->netif.name, peer->id, peer->staged.len);
		return;
	}
	if (!keypair_usable_for_sending(kp, now)) {
		wg_send_handshake_initiation(peer, false);
		return;
	}
	bool sent_data = false, sent_any = false;
	struct pbuf *b;
	while ((b = pbuf_queue_pop(&peer->staged))) {
		size_t plain = b->len;
		if (kp->send_counter >= REJECT_AFTER_MESSAGES) {
			pbuf_queue_push(&peer->staged, b);   /* wait for the new session */
			break;
		}
		if (encrypt_in_place(peer, kp, b) < 0) {
			netif_drop(&dev->netif, DROP_NOMEM);
			pbuf_free(b);
			continue;
		}
		if (!sent_any)
			wg_timers_any_authenticated_packet_traversal(peer);
		sent_any = true;
		if (plain) {
			dev->netif.stats.tx_packets++;
			dev->netif.stats.tx_bytes += plain;
			sent_data = true;
		}
		size_t wire_len = b->len;
		if (wg_device_queue_to_peer(dev, peer, b) == 0)
			peer->tx_bytes += wire_len;
		else
			netif_drop(&dev->netif, DROP_SEND_FAILED);
	}
	if (sent_any)
		wg_timers_any_authenticated_packet_sent(peer);
	if (sent_data)
		wg_timers_data_sent(peer);
	keep_key_fresh_on_send(peer);
}

void wg_send_packet(struct wg_peer *peer, struct pbuf *b)
{
	if (peer->staged.len >= PEER_STAGED_MAX) {
		/* Keep the newest: drop the oldest waiting packet. */
		pbuf_free(pbuf_queue_pop(&peer->staged));
		netif_drop(&peer->dev->netif, DROP_QUEUE_FULL);
	}
	pbuf_queue_push(&peer->staged, b);
	wg_send_staged(peer);
}

void wg_send_keepalive(struct wg_peer *peer)
{
	if (peer->dev->netif.down)
		return;   /* a down link sends nothing, persistent keepalives included */
	/* Staged packets confirm the session just as well as an empty one. */
	if (peer->staged.len == 0) {
		struct pbuf *b = pbuf_alloc();
		if (!b) {
			netif_drop(&peer->dev->netif, DROP_NOMEM);
			return;
		}
		pbuf_queue_push(&peer->staged, b);
		log_debug("%s: peer %u: sending keepalive", peer->dev->netif.name, peer->id);
	}
	wg_send_staged(peer);
}
