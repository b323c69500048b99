// SPDX-License-Identifier: GPL-2.0
/* Failure path: reads a field of a type that neither vmlinux nor any module has. Loading must
 * fail with an error that names the relocation (struct core_reloc_no_such_type.no_such_field). */
#include <asm/ptrace.h>
#include <bpf/bpf_tracing.h>

#include "maps.h"

SEC("kprobe/btrfs_getattr")
int missing_type_read(struct pt_regs *ctx)
{
	struct btrfs_getattr_record *record = record_for_current();
	struct core_reloc_no_such_type *missing = (void *)PT_REGS_PARM2(ctx);

	if (!record)
		return 0;
	record->ino = BPF_CORE_READ(missing, no_such_field);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
