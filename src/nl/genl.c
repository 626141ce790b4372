/*
 * The generic netlink controller and dispatch. Programs open a
 * NETLINK_GENERIC socket, ask "nlctrl" (GENL_ID_CTRL) for a family by name
 * with CTRL_CMD_GETFAMILY, and then address that family's id. As in the
 * kernel (genl_rcv_msg): a message shorter than its genlmsghdr is -EINVAL, an
 * unknown family -ENOENT, an unknown command -EOPNOTSUPP.
 */
#include "nl/genl.h"

#include <errno.h>
#include <linux/wireguard.h>
#include <string.h>

#define CTRL_VERSION 2

struct genl_op {
	uint32_t cmd;
	uint32_t flags;    /* GENL_ADMIN_PERM, GENL_CMD_CAP_* */
};

struct genl_family {
	const char *name;
	uint16_t id;
	uint32_t version;
	uint32_t maxattr;
	const struct genl_op *ops;
	size_t n_ops;
	const char *mcast_group;   /* NULL: none */
};

static const struct genl_op ctrl_ops[] = {
	{ CTRL_CMD_GETFAMILY, GENL_CMD_CAP_DO | GENL_CMD_CAP_DUMP | GENL_CMD_CAP_HASPOL },
	{ CTRL_CMD_GETPOLICY, GENL_CMD_CAP_DUMP },
};

static const struct genl_op wg_ops[] = {
	{ WG_CMD_GET_DEVICE, GENL_ADMIN_PERM | GENL_CMD_CAP_DUMP | GENL_CMD_CAP_HASPOL },
	{ WG_CMD_SET_DEVICE, GENL_ADMIN_PERM | GENL_CMD_CAP_DO | GENL_CMD_CAP_HASPOL },
};

static const struct genl_family families[] = {
	{ "nlctrl", GENL_ID_CTRL, CTRL_VERSION, CTRL_ATTR_MAX, ctrl_ops,
	  sizeof(ctrl_ops) / sizeof(ctrl_ops[0]), "notify" },
	{ WG_GENL_NAME, GENL_WG_FAMILY_ID, WG_GENL_VERSION, WGDEVICE_A_MAX, wg_ops,
	  sizeof(wg_ops) / sizeof(wg_ops[0]), NULL },
};
#define N_FAMILIES (sizeof(families) / sizeof(families[0]))

size_t genlmsg_begin(struct nlbuf *b, uint16_t family, uint16_t flags, uint32_t seq,
		     uint32_t portid, uint8_t cmd, uint8_t version)
{
	struct genlmsghdr g = { .cmd = cmd, .version = version };
	return nlmsg_begin(b, family, flags, seq, portid, &g, sizeof(g));
}

static void put_u16(struct nlbuf *b, uint16_t type, uint16_t v)
{
	nla_put(b, type, &v, sizeof(v));
}

/* CTRL_CMD_NEWFAMILY describing f, as ctrl_fill_info. */
static void family_fill(struct nlbuf *b, const struct genl_family *f, uint16_t flags,
			uint32_t seq, uint32_t portid)
{
	size_t off = genlmsg_begin(b, GENL_ID_CTRL, flags, seq, portid, CTRL_CMD_NEWFAMILY,
				   CTRL_VERSION);
	nla_put_str(b, CTRL_ATTR_FAMILY_NAME, f->name);
	put_u16(b, CTRL_ATTR_FAMILY_ID, f->id);
	nla_put_u32(b, CTRL_ATTR_VERSION, f->version);
	nla_put_u32(b, CTRL_ATTR_HDRSIZE, 0);
	nla_put_u32(b, CTRL_ATTR_MAXATTR, f->maxattr);
	size_t ops = nla_nest_begin(b, CTRL_ATTR_OPS);
	for (size_t i = 0; i < f->n_ops; i++) {
		size_t op = nla_nest_begin(b, (uint16_t)(i + 1));
		nla_put_u32(b, CTRL_ATTR_OP_ID, f->ops[i].cmd);
		nla_put_u32(b, CTRL_ATTR_OP_FLAGS, f->ops[i].flags);
		nla_nest_end(b, op);
	}
	nla_nest_end(b, ops);
	if (f->mcast_group) {
		size_t groups = nla_nest_begin(b, CTRL_ATTR_MCAST_GROUPS);
		size_t g = nla_nest_begin(b, 1);
		nla_put_str(b, CTRL_ATTR_MCAST_GRP_NAME, f->mcast_group);
		nla_put_u32(b, CTRL_ATTR_MCAST_GRP_ID, f->id);
		nla_nest_end(b, g);
		nla_nest_end(b, groups);
	}
	nlmsg_end(b, off);
}

static const struct genl_family *family_by_id(uint32_t id)
{
	for (size_t i = 0; i < N_FAMILIES; i++)
		if (families[i].id == id)
			return &families[i];
	return NULL;
}

static const struct genl_family *family_by_name(const struct nla *a)
{
	if (!a->data || !a->len)
		return NULL;
	size_t n = strnlen((const char *)a->data, a->len);
	for (size_t i = 0; i < N_FAMILIES; i++)
		if (strlen(families[i].name) == n && memcmp(families[i].name, a->data, n) == 0)
			return &families[i];
	return NULL;
}

static int ctrl_getfamily(struct rtnl_req *q, const uint8_t *attrs, size_t len)
{
	uint32_t portid = q->s->portid, seq = q->hdr.nlmsg_seq;
	if ((q->hdr.nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP) {
		struct rtnl_dump d;
		rtnl_dump_init(&d, q);
		for (size_t i = 0; i < N_FAMILIES; i++) {
			struct nlbuf b = { 0 };
			family_fill(&b, &families[i], NLM_F_MULTI, seq, portid);
			if (b.nomem)
				d.nomem = true;
			else
				rtnl_dump_add(&d, b.data, b.len);
			nlbuf_free(&b);
		}
		return rtnl_dump_finish(&d) < 0 ? -ENOMEM : RTNL_DONE;
	}
	struct nla tb[CTRL_ATTR_MAX + 1];
	if (nla_parse(attrs, len, q->msg, tb, CTRL_ATTR_MAX) < 0)
		return rtnl_fail(q, -EINVAL, "Malformed attribute");
	const struct genl_family *f = NULL;
	if (tb[CTRL_ATTR_FAMILY_ID].data) {
		uint16_t id;
		if (tb[CTRL_ATTR_FAMILY_ID].len != sizeof(id))
			return rtnl_fail(q, -EINVAL, "CTRL_ATTR_FAMILY_ID is not a u16");
		memcpy(&id, tb[CTRL_ATTR_FAMILY_ID].data, sizeof(id));
		f = family_by_id(id);
	} else if (tb[CTRL_ATTR_FAMILY_NAME].data) {
		f = family_by_name(&tb[CTRL_ATTR_FAMILY_NAME]);
	} else {
		return rtnl_fail(q, -EINVAL, "Family id or name required");
	}
	if (!f)
		return rtnl_fail(q, -ENOENT, "Unknown family");
	struct nlbuf b = { 0 };
	family_fill(&b, f, 0, seq, portid);
	int r = b.nomem ? -ENOMEM : rtnl_queue_reply(q->s, b.data, b.len);
	nlbuf_free(&b);
	return r;
}

int genl_dispatch(struct rtnl_req *q)
{
	if (q->body_len < GENL_HDRLEN)
		return -EINVAL;
	struct genlmsghdr g;
	memcpy(&g, q->body, sizeof(g));
	const uint8_t *attrs = q->body + GENL_HDRLEN;
	size_t len = q->body_len - GENL_HDRLEN;
	switch (q->hdr.nlmsg_type) {
	case GENL_ID_CTRL:
		if (g.cmd == CTRL_CMD_GETFAMILY)
			return ctrl_getfamily(q, attrs, len);
		if (g.cmd == CTRL_CMD_GETPOLICY && (q->hdr.nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP)
			return rtnl_fail(q, -EOPNOTSUPP, "Policies are not published here");
		return -EOPNOTSUPP;
	case GENL_WG_FAMILY_ID:
		return genl_wg_request(q, g.cmd, attrs, len);
	default:
		return -ENOENT;
	}
}
