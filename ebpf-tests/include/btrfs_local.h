/* Local definitions of the kernel types the test programs read.
 *
 * Only the members we touch are declared: preserve_access_index makes clang record every access
 * as a CO-RE relocation (type + access path), and the loader rewrites the offsets to the running
 * kernel's layout. The btrfs types exist only in the btrfs module's split BTF, the VFS types in
 * vmlinux, so one program needs both kinds of targets.
 */
#ifndef BTRFS_LOCAL_H
#define BTRFS_LOCAL_H

#include <linux/types.h>

#define __core __attribute__((preserve_access_index))

/* vmlinux types. */
struct inode {
	unsigned long i_ino;
} __core;

struct dentry {
	struct inode *d_inode;
} __core;

struct path {
	struct dentry *dentry;
} __core;

/* btrfs module types. */
struct btrfs_key {
	__u64 objectid;
} __core;

struct btrfs_fs_info {
	__u32 nodesize;
	__u32 sectorsize;
} __core;

struct btrfs_root {
	struct btrfs_key root_key;
	struct btrfs_fs_info *fs_info;
} __core;

struct btrfs_inode {
	struct btrfs_root *root;
	/* Removed from the kernel in 6.7: exists on 6.1, not on 6.12. */
	struct btrfs_key location;
	__u64 generation;
	struct inode vfs_inode;
} __core;

/* Values differ between kernels: BTRFS_MAP_DISCARD is gone in 6.12, which renumbered the rest.
 * The local values are deliberately wrong so a missing relocation cannot pass by accident. */
enum btrfs_map_op {
	BTRFS_MAP_READ = 100,
	BTRFS_MAP_WRITE = 101,
	BTRFS_MAP_DISCARD = 102,
	BTRFS_MAP_GET_READ_MIRRORS = 103,
};

/* No kernel or module defines this: relocations against it must fail, named in words. */
struct core_reloc_no_such_type {
	__u64 no_such_field;
} __core;

#endif
