// SPDX-License-Identifier: GPL-2.0
/* Test 1: on stat(2) of a btrfs file, read module struct fields through CO-RE. */
#include <asm/ptrace.h>
#include <bpf/bpf_tracing.h>

#include "maps.h"

SEC("kprobe/btrfs_getattr")
int btrfs_getattr_fields(struct pt_regs *ctx)
{
	struct btrfs_getattr_record *record = record_for_current();

	if (!record)
		return 0;
	/* btrfs_getattr(idmap or user_namespace, const struct path *, ...) on 6.1 and 6.12. */
	btrfs_read_path((struct path *)PT_REGS_PARM2(ctx), record);
	__sync_fetch_and_add(&record->hits, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
