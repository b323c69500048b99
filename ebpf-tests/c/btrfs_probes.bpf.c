// SPDX-License-Identifier: GPL-2.0
/* Test 2: existence, size, offset and enum relocations against btrfs types.
 *
 * Every value that would be poisoned when the type is missing (offsets, enum values) is guarded
 * by its existence check, so the program also loads with module search off and then reports 0. */
#include <asm/ptrace.h>
#include <bpf/bpf_tracing.h>

#include "btrfs_read.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PROBE_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} btrfs_probes SEC(".maps");

static __always_inline void put(__u32 index, __u64 value)
{
	__u64 *slot = bpf_map_lookup_elem(&btrfs_probes, &index);

	if (slot)
		*slot = value;
}

SEC("kprobe/btrfs_getattr")
int btrfs_probes_run(struct pt_regs *ctx)
{
	__u32 ran = PROBE_RAN;
	__u64 *runs = bpf_map_lookup_elem(&btrfs_probes, &ran);

	if (runs)
		__sync_fetch_and_add(runs, 1);

	put(PROBE_INODE_TYPE_EXISTS, bpf_core_type_exists(struct btrfs_inode));
	put(PROBE_INODE_TYPE_SIZE, bpf_core_type_size(struct btrfs_inode));
	put(PROBE_INODE_LOCATION_EXISTS, bpf_core_field_exists(struct btrfs_inode, location));
	if (bpf_core_field_exists(struct btrfs_inode, vfs_inode))
		put(PROBE_INODE_VFS_INODE_OFFSET,
		    bpf_core_field_offset(struct btrfs_inode, vfs_inode));
	if (bpf_core_field_exists(struct btrfs_inode, generation))
		put(PROBE_INODE_GENERATION_OFFSET,
		    bpf_core_field_offset(struct btrfs_inode, generation));
	if (bpf_core_field_exists(struct btrfs_fs_info, nodesize))
		put(PROBE_FS_INFO_NODESIZE_SIZE, bpf_core_field_size(struct btrfs_fs_info, nodesize));
	put(PROBE_MAP_DISCARD_EXISTS,
	    bpf_core_enum_value_exists(enum btrfs_map_op, BTRFS_MAP_DISCARD));
	put(PROBE_MAP_READ_MIRRORS_EXISTS,
	    bpf_core_enum_value_exists(enum btrfs_map_op, BTRFS_MAP_GET_READ_MIRRORS));
	if (bpf_core_enum_value_exists(enum btrfs_map_op, BTRFS_MAP_GET_READ_MIRRORS))
		put(PROBE_MAP_READ_MIRRORS_VALUE,
		    bpf_core_enum_value(enum btrfs_map_op, BTRFS_MAP_GET_READ_MIRRORS));
	put(PROBE_ROOT_TYPE_SIZE, bpf_core_type_size(struct btrfs_root));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
