/*
 * The receive path: classify each datagram, run handshake messages through
 * the cookie checker and the Noise state machine, and decrypt transport
 * messages in place, check their counter and inner source, and hand the
 * plaintext IP packet to the IP layer.
 */
#include <endian.h>
#include <errno.h>
#include <string.h>

#include "core/log.h"
#include "ip/packet.h"
#include "wg/datapath.h"
#include "wg/device.h"
#include "wg/messages.h"
#include "wg/peer.h"
#include "wg/ratelimit.h"
#include "wg/timers.h"

/* The cookie binds to the sender's address: ip bytes then port, network order. */
static size_t cookie_source(const union sockaddr_inet *from, uint8_t out[COOKIE_SRC_MAX])
{
	if (from->sa.sa_family == AF_INET) {
		memcpy(out, &from->in4.sin_addr, 4);
		memcpy(out + 4, &from->in4.sin_port, 2);
		return 6;
	}
	memcpy(out, &from->in6.sin6_addr, 16);
	memcpy(out + 16, &from->in6.sin6_port, 2);
	return 18;
}

static void send_cookie_reply(struct wg_device *dev, const void *msg, size_t len,
			      uint32_t sender_index, const union sockaddr_inet *from,
			      const uint8_t *src, size_t src_len)
{
	struct message_handshake_cookie reply;
	if (cookie_message_create(&dev->cookie_checker, &reply, msg, len, sender_index,
				  src, src_len, loop_now(dev->loop)) < 0)
		return;
	if (wg_device_send_to(dev, from, &reply, sizeof(reply)) == 0)
		dev->cookie_replies_sent++;
}

/*
 * mac checks for a handshake message. Returns true to go on processing;
 * false if it was dropped or answered with a cookie.
 */
static bool check_macs(struct wg_device *dev, const void *msg, size_t len, uint32_t sender_index,
		       const union sockaddr_inet *from)
{
	uint8_t src[COOKIE_SRC_MAX];
	size_t src_len = cookie_source(from, src);
	bool under_load = wg_device_note_handshake_and_check_load(dev);
	/* Under load, a source past its share costs a lookup, not a DH or a cookie reply. */
	if (under_load && !wg_ratelimit_allow(wg_ratelimit_global(), from, loop_now(dev->loop))) {
		netif_drop(&dev->netif, DROP_HANDSHAKE_RATELIMITED);
		return false;
	}
	enum cookie_mac_state st = cookie_checker_validate(&dev->cookie_checker, msg, len, src,
							   src_len, loop_now(dev->loop),
							   under_load);
	if (st == COOKIE_MAC_INVALID) {
		netif_drop(&dev->netif, DROP_INVALID_MAC);
		return false;
	}
	if (under_load && st == COOKIE_MAC_VALID_NO_COOKIE) {
		send_cookie_reply(dev, msg, len, sender_index, from, src, src_len);
		return false;
	}
	return true;
}

static void receive_initiation(struct wg_device *dev, const struct message_handshake_initiation *msg,
			       const union sockaddr_inet *from)
{
	uint32_t sender = le32toh(msg->sender_index);
	if (!check_macs(dev, msg, sizeof(*msg), sender, from))
		return;

	struct noise_initiation_result r;
	if (noise_initiation_open(&dev->identity, msg, &r) < 0) {
		netif_drop(&dev->netif, DROP_HANDSHAKE_FAILED);
		crypto_wipe(&r, sizeof(r));
		return;
	}
	struct wg_peer *peer = wg_device_peer_by_key(dev, r.remote_static);
	if (!peer) {
		char key[KEY_BASE64_LEN + 1];
		key_to_base64(key, r.remote_static);
		log_debug("%s: handshake initiation from unknown public key %s", dev->netif.name, key);
		netif_drop(&dev->netif, DROP_HANDSHAKE_FAILED);
		crypto_wipe(&r, sizeof(r));
		return;
	}
	int rc = noise_handshake_accept_initiation(&peer->handshake, &r, loop_now(dev->loop));
	crypto_wipe(&r, sizeof(r));
	if (rc < 0) {
		log_debug("%s: peer %u: initiation rejected (%s)", dev->netif.name, peer->id,
			  rc == -EALREADY ? "replayed timestamp" : rc == -EAGAIN ? "too frequent" :
			  strerror(-rc));
		netif_drop(&dev->netif, DROP_HANDSHAKE_FAILED);
		return;
	}
	peer->rx_bytes += sizeof(*msg);
	wg_peer_set_endpoint(peer, from);
	wg_timers_any_authenticated_packet_received(peer);
	wg_timers_any_authenticated_packet_traversal(peer);

	struct message_handshake_response resp;
	index_table_insert(&peer->handshake_entry, INDEX_HANDSHAKE, peer);
	rc = noise_handshake_create_response(&peer->handshake, &resp, peer->handshake_entry.index);
	if (rc < 0) {
		index_table_remove(&peer->handshake_entry);
		log_warn("%s: peer %u: cannot create a handshake response (%s)", dev->netif.name,
			 peer->id, strerror(-rc));
		return;
	}
	cookie_add_macs(&peer->cookie, &resp, sizeof(resp), loop_now(dev->loop));
	rc = wg_peer_begin_session(peer);
	if (rc < 0) {
		log_warn("%s: peer %u: cannot start a session (%s)", dev->netif.name, peer->id,
			 strerror(-rc));
		return;
	}
	wg_timers_session_derived(peer);
	wg_timers_any_authenticated_packet_traversal(peer);
	wg_timers_any_authenticated_packet_sent(peer);
	log_debug("%s: peer %u: sending handshake response", dev->netif.name, peer->id);
	if (wg_device_send_to_peer(dev, peer, &resp, sizeof(resp)) == 0)
		peer->tx_bytes += sizeof(resp);
	else
		netif_drop(&dev->netif, DROP_SEND_FAILED);
}

static void receive_response(struct wg_device *dev, const struct message_handshake_response *msg,
			     const union sockaddr_inet *from)
{
	if (!check_macs(dev, msg, sizeof(*msg), le32toh(msg->sender_index), from))
		return;
	struct index_entry *e = index_table_lookup(le32toh(msg->receiver_index), INDEX_HANDSHAKE);
	if (!e || e->peer->dev != dev) {
		netif_drop(&dev->netif, DROP_UNKNOWN_INDEX);
		return;
	}
	struct wg_peer *peer = e->peer;
	int rc = noise_handshake_consume_response(&peer->handshake, &dev->identity, msg);
	if (rc < 0) {
		log_debug("%s: peer %u: handshake response rejected (%s)", dev->netif.name,
			  peer->id, strerror(-rc));
		netif_drop(&dev->netif, DROP_HANDSHAKE_FAILED);
		return;
	}
	rc = wg_peer_begin_session(peer);
	if (rc < 0) {
		log_warn("%s: peer %u: cannot start a session (%s)", dev->netif.name, peer->id,
			 strerror(-rc));
		return;
	}
	peer->rx_bytes += sizeof(*msg);
	wg_peer_set_endpoint(peer, from);
	log_info("%s: peer %u (%.8s…): handshake complete (we initiated)", dev->netif.name,
		 peer->id, peer->public_key_b64);
	wg_timers_session_derived(peer);
	wg_timers_handshake_complete(peer);
	wg_timers_any_authenticated_packet_received(peer);
	wg_timers_any_authenticated_packet_traversal(peer);
	/* Confirms the session to the responder, carrying any staged packets. */
	wg_send_keepalive(peer);
}

static void receive_cookie(struct wg_device *dev, const struct message_handshake_cookie *msg)
{
	struct index_entry *e = index_table_lookup(le32toh(msg->receiver_index),
						   INDEX_HANDSHAKE | INDEX_KEYPAIR);
	if (!e || e->peer->dev != dev) {
		netif_drop(&dev->netif, DROP_UNKNOWN_INDEX);
		return;
	}
	if (cookie_consume_reply(&e->peer->cookie, msg, loop_now(dev->loop)) < 0) {
		netif_drop(&dev->netif, DROP_INVALID_MAC);
		return;
	}
	log_debug("%s: peer %u: received a cookie; the peer is under load", dev->netif.name,
		  e->peer->id);
}

/* Initiator side, near the end of a session: rekey before it is rejected (whitepaper 6.2). */
static void keep_key_fresh_on_receive(struct wg_peer *peer)
{
	struct wg_keypair *kp = peer->current;
	uint64_t now = loop_now(peer->dev->loop);
	if (kp && kp->valid && kp->i_am_initiator && !peer->sent_lastminute_handshake &&
	    now - kp->birthdate > REJECT_AFTER_TIME - KEEPALIVE_TIMEOUT - REKEY_TIMEOUT) {
		peer->sent_lastminute_handshake = true;
		wg_send_handshake_initiation(peer, false);
	}
}

static void receive_data(struct wg_device *dev, struct pbuf *b, const union sockaddr_inet *from)
{
	const struct message_data *hdr = (const struct message_data *)pbuf_data(b);
	struct index_entry *e = index_table_lookup(le32toh(hdr->key_idx), INDEX_KEYPAIR);
	if (!e || e->peer->dev != dev) {
		netif_drop(&dev->netif, DROP_UNKNOWN_INDEX);
		pbuf_free(b);
		return;
	}
	struct wg_keypair *kp = container_of(e, struct wg_keypair, entry);
	struct wg_peer *peer = kp->peer;
	uint64_t counter = le64toh(hdr->counter);
	uint64_t now = loop_now(dev->loop);
	size_t wire_len = b->len;

	if (!kp->valid || now - kp->birthdate >= REJECT_AFTER_TIME ||
	    counter >= REJECT_AFTER_MESSAGES) {
		kp->valid = kp->valid && now - kp->birthdate < REJECT_AFTER_TIME;
		netif_drop(&dev->netif, DROP_KEY_EXPIRED);
		pbuf_free(b);
		return;
	}
	pbuf_pull(b, MESSAGE_DATA_HEADER_LEN);
	size_t clen = b->len - CRYPTO_AEAD_TAG_LEN;
	if (aead_ctx_open(&kp->recv, counter, pbuf_data(b), clen, pbuf_data(b) + clen) < 0) {
		netif_drop(&dev->netif, DROP_DECRYPT_FAILED);
		pbuf_free(b);
		return;
	}
	pbuf_trim(b, clen);
	if (!replay_check_and_update(&kp->replay, counter, REJECT_AFTER_MESSAGES)) {
		netif_drop(&dev->netif, DROP_REPLAYED);
		pbuf_free(b);
		return;
	}

	wg_peer_set_endpoint(peer, from);
	if (wg_peer_received_with_keypair(peer, kp)) {
		log_info("%s: peer %u (%.8s…): handshake complete (peer initiated)",
			 dev->netif.name, peer->id, peer->public_key_b64);
		wg_timers_handshake_complete(peer);
		wg_send_staged(peer);
	}
	keep_key_fresh_on_receive(peer);
	wg_timers_any_authenticated_packet_received(peer);
	wg_timers_any_authenticated_packet_traversal(peer);

	/*
	 * rx_bytes counts as the kernel's update_rx_stats: the whole message, for
	 * keepalives and for packets delivered, not for ones dropped as malformed
	 * or from outside the peer's AllowedIPs.
	 */
	if (b->len == 0) {   /* keepalive */
		peer->rx_bytes += wire_len;
		pbuf_free(b);
		return;
	}
	wg_timers_data_received(peer);

	struct ip_addr src;
	int ip_len = ip_packet_source(pbuf_data(b), b->len, &src);
	if (ip_len < 0) {
		netif_drop(&dev->netif, DROP_INVALID_PACKET);
		pbuf_free(b);
		return;
	}
	pbuf_trim(b, (size_t)ip_len);   /* drop the padding */
	if (wg_device_peer_by_addr(dev, &src) != peer) {
		char a[IP_ADDR_STRLEN];
		log_debug("%s: peer %u sent a packet from %s, outside its AllowedIPs",
			  dev->netif.name, peer->id, ip_addr_format(&src, a));
		netif_drop(&dev->netif, DROP_ALLOWEDIPS);
		pbuf_free(b);
		return;
	}
	peer->rx_bytes += wire_len;
	dev->netif.stats.rx_packets++;
	dev->netif.stats.rx_bytes += b->len;
	b->peer = peer;
	b->ifindex = dev->netif.ifindex;
	netif_input(&dev->netif, b);
}

void wg_receive(struct wg_device *dev, struct pbuf *b, const union sockaddr_inet *from)
{
	if (dev->netif.down) {
		/* "ip link set X down": as the kernel's closed socket, nothing comes in. */
		netif_drop(&dev->netif, DROP_UNSUPPORTED);
		pbuf_free(b);
		return;
	}
	const uint8_t *p = pbuf_data(b);
	switch (message_type_of(p, b->len)) {
	case MESSAGE_HANDSHAKE_INITIATION: {
		struct message_handshake_initiation msg;
		memcpy(&msg, p, sizeof(msg));
		pbuf_free(b);
		receive_initiation(dev, &msg, from);
		return;
	}
	case MESSAGE_HANDSHAKE_RESPONSE: {
		struct message_handshake_response msg;
		memcpy(&msg, p, sizeof(msg));
		pbuf_free(b);
		receive_response(dev, &msg, from);
		return;
	}
	case MESSAGE_HANDSHAKE_COOKIE: {
		struct message_handshake_cookie msg;
		memcpy(&msg, p, sizeof(msg));
		pbuf_free(b);
		receive_cookie(dev, &msg);
		return;
	}
	case MESSAGE_DATA:
		receive_data(dev, b, from);
		return;
	default:
		netif_drop(&dev->netif, DROP_INVALID_MESSAGE);
		pbuf_free(b);
		return;
	}
}
