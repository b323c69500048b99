// SPDX-License-Identifier: GPL-2.0
/* Reads the arguments of core_reloc_testmod's crt_testmod_observe() through CO-RE: the
 * module's structs change layout between its two build variants, so only a relocation against
 * the module's BTF (relocated by the kernel from its .BTF.base) reads the right bytes. */
#include <linux/bpf.h>
#include <asm/ptrace.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "testmod_record.h"
#include "testmod_seen.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct crt_seen);
} crt_seen SEC(".maps");

SEC("kprobe/crt_testmod_observe")
int crt_observe(struct pt_regs *ctx)
{
	__u32 zero = 0;
	struct crt_seen *seen = bpf_map_lookup_elem(&crt_seen, &zero);
	struct crt_record *record = (void *)PT_REGS_PARM1(ctx);

	if (!seen)
		return 0;
	seen->input = PT_REGS_PARM2(ctx);
	seen->id = BPF_CORE_READ(record, id);
	seen->tag = BPF_CORE_READ(record, inner.tag);
	seen->value = BPF_CORE_READ(record, inner.value);
	seen->calls = BPF_CORE_READ(record, calls);
	seen->size = bpf_core_type_size(struct crt_record);
	seen->off_value = bpf_core_field_offset(struct crt_record, inner.value);
	seen->runs++;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
