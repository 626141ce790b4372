#include "wg/peer.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "wg/device.h"
#include "wg/timers.h"

int wg_peer_init(struct wg_peer *peer, struct wg_device *dev, uint32_t id,
		 const uint8_t public_key[CRYPTO_KEY_LEN], const uint8_t *psk)
{
	memset(peer, 0, sizeof(*peer));
	peer->dev = dev;
	peer->id = id;
	memcpy(peer->public_key, public_key, CRYPTO_KEY_LEN);
	key_to_base64(peer->public_key_b64, public_key);
	int r = noise_handshake_init(&peer->handshake, &dev->identity, public_key, psk);
	if (r < 0)
		return r;
	cookie_maker_init(&peer->cookie, public_key);
	pbuf_queue_init(&peer->staged);
	wg_timers_init(peer);
	return 0;
}

static void keypair_free(struct wg_keypair *kp)
{
	if (!kp)
		return;
	index_table_remove(&kp->entry);
	aead_ctx_free(&kp->send);
	aead_ctx_free(&kp->recv);
	crypto_wipe(kp, sizeof(*kp));
	free(kp);
}

void wg_peer_clear_keypairs(struct wg_peer *peer)
{
	keypair_free(peer->previous);
	keypair_free(peer->current);
	keypair_free(peer->next);
	peer->previous = peer->current = peer->next = NULL;
}

void wg_peer_destroy(struct wg_peer *peer)
{
	wg_timers_stop(peer);
	index_table_remove(&peer->handshake_entry);
	wg_peer_clear_keypairs(peer);
	noise_handshake_clear(&peer->handshake);
	cookie_maker_clear(&peer->cookie);
	pbuf_queue_purge(&peer->staged);
	free(peer->allowed_ips);
	peer->allowed_ips = NULL;
}

int wg_peer_begin_session(struct wg_peer *peer)
{
	struct noise_session_keys keys;
	int r = noise_handshake_derive_keys(&peer->handshake, &keys);
	if (r < 0)
		return r;
	struct wg_keypair *kp = calloc(1, sizeof(*kp));
	if (!kp) {
		crypto_wipe(&keys, sizeof(keys));
		return -ENOMEM;
	}
	if (aead_ctx_init(&kp->send, keys.sending, true) < 0 ||
	    aead_ctx_init(&kp->recv, keys.receiving, false) < 0) {
		crypto_wipe(&keys, sizeof(keys));
		keypair_free(kp);
		return -ENOMEM;
	}
	kp->peer = peer;
	kp->remote_index = keys.remote_index;
	kp->i_am_initiator = keys.i_am_initiator;
	kp->birthdate = loop_now(peer->dev->loop);
	kp->valid = true;
	replay_init(&kp->replay);
	crypto_wipe(&keys, sizeof(keys));

	/* The session inherits the handshake's index: that is what the peer will address. */
	kp->entry.type = INDEX_KEYPAIR;
	kp->entry.peer = peer;
	index_table_replace(&peer->handshake_entry, &kp->entry);

	if (kp->i_am_initiator) {
		/* The response proved the peer has the keys: use the session at once. */
		if (peer->next) {
			keypair_free(peer->previous);
			peer->previous = peer->next;
			peer->next = NULL;
			keypair_free(peer->current);
		} else {
			keypair_free(peer->previous);
			peer->previous = peer->current;
		}
		peer->current = kp;
	} else {
		/* Not usable for sending until the initiator's first data packet confirms it. */
		keypair_free(peer->next);
		peer->next = kp;
		keypair_free(peer->previous);
		peer->previous = NULL;
	}
	return 0;
}

bool wg_peer_received_with_keypair(struct wg_peer *peer, struct wg_keypair *kp)
{
	if (kp != peer->next)
		return false;
	keypair_free(peer->previous);
	peer->previous = peer->current;
	peer->current = peer->next;
	peer->next = NULL;
	return true;
}

void wg_peer_set_endpoint(struct wg_peer *peer, const union sockaddr_inet *from)
{
	if (peer->has_endpoint && sockaddr_inet_equal(&peer->endpoint, from))
		return;
	char old[64] = "none", new[64];
	if (peer->has_endpoint)
		sockaddr_inet_format(&peer->endpoint, old, sizeof(old));
	sockaddr_inet_format(from, new, sizeof(new));
	log_info("%s: peer %u (%.8s…) endpoint %s -> %s", peer->dev->netif.name, peer->id,
		 peer->public_key_b64, old, new);
	peer->endpoint = *from;
	peer->has_endpoint = true;
}
