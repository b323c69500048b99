/* Direct (not probe-read) CO-RE reads for BTF-typed programs (fentry/fexit) on btrfs functions,
 * shared by the C program and the Rust program's bitcode shim. The verifier checks every load
 * against the module's BTF; preserve_access_index lets CO-RE relocate each offset.
 * Always inlined: a global function taking a kernel pointer is rejected by the 6.1 verifier. */
#ifndef BTRFS_DIRECT_H
#define BTRFS_DIRECT_H

#include "btrfs_local.h"
#include "btrfs_record.h"

/* vmlinux's struct kstat: what btrfs_getattr filled when it returns. */
struct kstat {
	__u64 ino;
	__s64 size;
	__u32 blksize;
} __core;

/* What a fexit program on btrfs_getattr saw (mirrored in integration/src/programs.rs). */
struct btrfs_fexit_record {
	__u64 hits;
	__s64 ret;       /* btrfs_getattr's return value */
	__u64 ino;       /* path->dentry->d_inode->i_ino */
	__u64 stat_ino;  /* stat->ino, as filled */
	__s64 stat_size; /* stat->size */
	__u32 blksize;   /* stat->blksize */
	__u32 tgid;
};

/* Fills `out` from a btrfs_inode (the argument of btrfs_get_delayed_node). */
static __always_inline void btrfs_direct_read_inode(struct btrfs_inode *inode,
						    struct btrfs_getattr_record *out)
{
	struct btrfs_root *root = inode->root;

	out->ino = inode->vfs_inode.i_ino;
	out->root_objectid = root->root_key.objectid;
	out->sectorsize = root->fs_info->sectorsize;
	out->nodesize = root->fs_info->nodesize;
}

/* Fills `out` from btrfs_getattr's arguments and return value. */
static __always_inline void btrfs_direct_read_getattr(struct path *path, struct kstat *stat,
						      int ret, struct btrfs_fexit_record *out)
{
	out->ret = ret;
	out->ino = path->dentry->d_inode->i_ino;
	out->stat_ino = stat->ino;
	out->stat_size = stat->size;
	out->blksize = stat->blksize;
}

#endif
