// SPDX-License-Identifier: GPL-2.0
/* fentry and fexit on btrfs module functions (issue 11): loaded with the btrfs module's BTF
 * object and the function's id in its split BTF. Every read below is a direct load (no
 * bpf_probe_read): the verifier checks it against btrfs's BTF, and CO-RE relocates its offset
 * to the running module's layout. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "btrfs_direct.h"

/* Key 0: the tgid whose calls are recorded; 0 records every process. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} target_tgid SEC(".maps");

/* By inode number: what the fentry program read from the btrfs_inode being read in. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, __u64);
	__type(value, struct btrfs_getattr_record);
} fentry_records SEC(".maps");

/* Key 0: what the fexit program saw for the last btrfs_getattr of the target. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct btrfs_fexit_record);
} fexit_record SEC(".maps");

static __always_inline int is_target(__u32 tgid)
{
	__u32 zero = 0;
	__u32 *target = bpf_map_lookup_elem(&target_tgid, &zero);

	return target && (!*target || *target == tgid);
}

/* Reached by stat(2) of a file not in the inode cache: lookup -> btrfs_iget ->
 * btrfs_read_locked_inode -> btrfs_fill_inode -> btrfs_get_delayed_node(struct btrfs_inode *). */
SEC("fentry/btrfs_get_delayed_node")
int BPF_PROG(btrfs_fentry_inode, struct btrfs_inode *inode)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct btrfs_getattr_record record = {};
	struct btrfs_getattr_record *seen;

	if (!is_target(tgid))
		return 0;
	btrfs_direct_read_inode(inode, &record);
	record.tgid = tgid;
	seen = bpf_map_lookup_elem(&fentry_records, &record.ino);
	record.hits = seen ? seen->hits + 1 : 1;
	bpf_map_update_elem(&fentry_records, &record.ino, &record, BPF_ANY);
	return 0;
}

/* MODULE:FUNC names the module explicitly. */
SEC("fexit/btrfs:btrfs_getattr")
int BPF_PROG(btrfs_fexit_getattr, void *idmap, struct path *path, struct kstat *stat,
	     __u32 request_mask, unsigned int query_flags, int ret)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	__u32 zero = 0;
	struct btrfs_fexit_record *record;

	if (!is_target(tgid))
		return 0;
	record = bpf_map_lookup_elem(&fexit_record, &zero);
	if (!record)
		return 0;
	btrfs_direct_read_getattr(path, stat, ret, record);
	record->tgid = tgid;
	__sync_fetch_and_add(&record->hits, 1);
	return 0;
}

/* Key 0: what the tp_btf program saw for the last fsync of the target: the inode number of
 * the file (file->f_inode->i_ino) and the datasync flag, from the tracepoint's typed arguments. */
struct btrfs_sync_record {
	__u64 hits;
	__u64 ino;
	__s64 datasync;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct btrfs_sync_record);
} sync_record SEC(".maps");

struct file {
	struct inode *f_inode;
} __core;

/* btrfs's own tracepoint: the target is the btf_trace_btrfs_sync_file typedef in btrfs's BTF. */
SEC("tp_btf/btrfs_sync_file")
int BPF_PROG(btrfs_tp_sync_file, struct file *file, int datasync)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	__u32 zero = 0;
	struct btrfs_sync_record *record;

	/* 6.12 types raw tracepoint arguments as maybe-NULL. */
	if (!file || !is_target(tgid))
		return 0;
	record = bpf_map_lookup_elem(&sync_record, &zero);
	if (!record)
		return 0;
	record->ino = file->f_inode->i_ino;
	record->datasync = datasync;
	__sync_fetch_and_add(&record->hits, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
