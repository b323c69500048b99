/* What the test programs report to user space; mirrored in the Rust program and in the
 * integration crate (integration/src/programs.rs). Keep the three in sync. */
#ifndef BTRFS_RECORD_H
#define BTRFS_RECORD_H

#include <linux/types.h>

/* Value of map `btrfs_getattr_record` (one entry, key 0): what the kprobe on btrfs_getattr read
 * for the last stat(2) of the tgid in map `target_tgid` (key 0; 0 means any process). */
struct btrfs_getattr_record {
	__u64 hits;          /* number of btrfs_getattr calls recorded */
	__u64 ino;           /* btrfs_inode.vfs_inode.i_ino, reached through container_of */
	__u64 root_objectid; /* btrfs_inode.root->root_key.objectid: the subvolume id */
	__u32 sectorsize;    /* btrfs_inode.root->fs_info->sectorsize */
	__u32 nodesize;      /* btrfs_inode.root->fs_info->nodesize */
	__u32 tgid;          /* process that called stat */
	__u32 _pad;
};

/* Indices into map `btrfs_probes` (array of __u64) written by btrfs_probes.bpf.c. */
enum btrfs_probe_index {
	PROBE_RAN = 0,                  /* number of runs */
	PROBE_INODE_TYPE_EXISTS,        /* bpf_core_type_exists(struct btrfs_inode) */
	PROBE_INODE_TYPE_SIZE,          /* bpf_core_type_size(struct btrfs_inode) */
	PROBE_INODE_LOCATION_EXISTS,    /* bpf_core_field_exists(btrfs_inode.location) */
	PROBE_INODE_VFS_INODE_OFFSET,   /* bpf_core_field_offset(btrfs_inode.vfs_inode) if exists */
	PROBE_INODE_GENERATION_OFFSET,  /* bpf_core_field_offset(btrfs_inode.generation) if exists */
	PROBE_FS_INFO_NODESIZE_SIZE,    /* bpf_core_field_size(btrfs_fs_info.nodesize) if exists */
	PROBE_MAP_DISCARD_EXISTS,       /* bpf_core_enum_value_exists(btrfs_map_op, DISCARD) */
	PROBE_MAP_READ_MIRRORS_EXISTS,  /* bpf_core_enum_value_exists(btrfs_map_op, GET_READ_MIRRORS) */
	PROBE_MAP_READ_MIRRORS_VALUE,   /* bpf_core_enum_value(btrfs_map_op, GET_READ_MIRRORS) if exists */
	PROBE_ROOT_TYPE_SIZE,           /* bpf_core_type_size(struct btrfs_root) */
	PROBE_COUNT,
};

#endif
