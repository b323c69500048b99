// SPDX-License-Identifier: GPL-2.0
/* CO-RE accessors for the Rust programs, compiled to LLVM bitcode and linked by bpf-linker.
 *
 * Rust cannot emit CO-RE relocations itself; these functions carry them (preserve_access_index)
 * in their bitcode. always_inline makes bpf-linker's LTO inline them into the Rust program, so no
 * global BPF function with a kernel pointer argument reaches the verifier (6.1 rejects that). */
#include "btrfs_read.h"

__attribute__((always_inline)) void core_reloc_btrfs_read_path(struct path *path,
								struct btrfs_getattr_record *out)
{
	btrfs_read_path(path, out);
}

#include "btrfs_direct.h"

/* Direct loads, for the Rust fentry/fexit program on btrfs functions. */
__attribute__((always_inline)) void core_reloc_btrfs_direct_read_inode(
	struct btrfs_inode *inode, struct btrfs_getattr_record *out)
{
	btrfs_direct_read_inode(inode, out);
}

__attribute__((always_inline)) void core_reloc_btrfs_direct_read_getattr(
	struct path *path, struct kstat *stat, int ret, struct btrfs_fexit_record *out)
{
	btrfs_direct_read_getattr(path, stat, ret, out);
}
