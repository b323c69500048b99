// SPDX-License-Identifier: GPL-2.0
/* A call to kfuncs that the nf_conntrack module registers (issue 11): their ids are in
 * nf_conntrack's split BTF, the module's BTF fd goes in fd_array, and each call's offset field
 * indexes it. Run with BPF_PROG_TEST_RUN: the tuple (TEST-NET-1 addresses) has no entry. */
#include <linux/bpf.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

/* A struct, not a forward declaration: the loader, like libbpf, checks the kfuncs' prototypes
 * against the kernel's, where a FWD does not match a STRUCT. Members are never read. */
struct nf_conn {
	__u64 status;
};

/* nf_conntrack's struct bpf_ct_opts, first 12 bytes (the size every kernel accepts). */
struct bpf_ct_opts___local {
	__s32 netns_id;
	__s32 error;
	__u8 l4proto;
	__u8 dir;
	__u8 reserved[2];
};

extern struct nf_conn *bpf_xdp_ct_lookup(struct xdp_md *xdp_ctx, struct bpf_sock_tuple *bpf_tuple,
					 __u32 tuple__sz, struct bpf_ct_opts___local *opts,
					 __u32 opts__sz) __ksym;
extern void bpf_ct_release(struct nf_conn *ct) __ksym;

/* Key 0: the lookup's outcome. */
struct ct_result {
	__u64 runs;
	__u64 found; /* 1 when the lookup returned a connection */
	__s64 error; /* opts.error after the call */
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ct_result);
} ct_result SEC(".maps");

SEC("xdp")
int ct_lookup_absent(struct xdp_md *ctx)
{
	struct bpf_sock_tuple tuple = {};
	struct bpf_ct_opts___local opts = {
		.netns_id = -1, /* BPF_F_CURRENT_NETNS */
		.l4proto = IPPROTO_TCP,
	};
	struct ct_result *result;
	struct nf_conn *ct;
	__u32 zero = 0;
	__u64 found = 0;

	tuple.ipv4.saddr = bpf_htonl(0xc0000201); /* 192.0.2.1 */
	tuple.ipv4.daddr = bpf_htonl(0xc0000202); /* 192.0.2.2 */
	tuple.ipv4.sport = bpf_htons(40000);
	tuple.ipv4.dport = bpf_htons(9);
	ct = bpf_xdp_ct_lookup(ctx, &tuple, sizeof(tuple.ipv4), &opts, sizeof(opts));
	/* Released at once, on the branch that tested it: the 6.1 verifier tracks the reference
	 * through this null check only. */
	if (ct) {
		found = 1;
		bpf_ct_release(ct);
	}
	result = bpf_map_lookup_elem(&ct_result, &zero);
	if (result) {
		result->runs += 1;
		result->found = found;
		result->error = opts.error;
	}
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
