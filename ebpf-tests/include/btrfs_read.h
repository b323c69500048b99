/* CO-RE accessors shared by the C programs and the Rust program's bitcode shim.
 * Always inlined: the 6.1 verifier rejects a global function taking a kernel pointer. */
#ifndef BTRFS_READ_H
#define BTRFS_READ_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

#include "btrfs_local.h"
#include "btrfs_record.h"

/* Fills `out` from the inode behind `path` (the second argument of btrfs_getattr). */
/* Source pointers are not const: libbpf 1.1's BPF_CORE_READ declares its result with the
 * source's qualifiers, and clang 22 warns about the uninitialised const that makes. */
static __always_inline void btrfs_read_path(struct path *path,
					    struct btrfs_getattr_record *out)
{
	struct inode *inode = BPF_CORE_READ(path, dentry, d_inode);
	/* BTRFS_I(): container_of with the offset of vfs_inode relocated to the running module. */
	struct btrfs_inode *btrfs_inode =
		(void *)inode - bpf_core_field_offset(struct btrfs_inode, vfs_inode);
	struct btrfs_root *root = BPF_CORE_READ(btrfs_inode, root);

	/* Read back through btrfs_inode, so a wrong container_of offset shows as a wrong i_ino. */
	out->ino = BPF_CORE_READ(btrfs_inode, vfs_inode.i_ino);
	out->root_objectid = BPF_CORE_READ(root, root_key.objectid);
	out->sectorsize = BPF_CORE_READ(root, fs_info, sectorsize);
	out->nodesize = BPF_CORE_READ(root, fs_info, nodesize);
}

#endif
