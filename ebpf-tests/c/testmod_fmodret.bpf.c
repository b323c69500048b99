// SPDX-License-Identifier: GPL-2.0
/* fmod_ret on core_reloc_testmod's crt_testmod_observe(record, input): reads the record by
 * direct CO-RE loads (the verifier checks them against the module's BTF, whose layout
 * differs between the module's two build variants), reads the module's per-CPU variable
 * crt_testmod_writes as a typed __ksym, and makes the function return -EPERM (failing the
 * write to /proc/core_reloc_testmod) when the input is the one user space put in
 * crt_refuse. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "testmod_record.h"
#include "testmod_seen.h"

#define EPERM 1

extern const __u64 crt_testmod_writes __ksym;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct crt_fmodret_seen);
} crt_fmodret_seen SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} crt_refuse SEC(".maps");

SEC("fmod_ret/crt_testmod_observe")
int BPF_PROG(crt_refuse_input, struct crt_record *record, __u64 input, int ret)
{
	__u32 zero = 0;
	struct crt_fmodret_seen *out = bpf_map_lookup_elem(&crt_fmodret_seen, &zero);
	__u64 *refuse = bpf_map_lookup_elem(&crt_refuse, &zero);
	const __u64 *writes = bpf_this_cpu_ptr(&crt_testmod_writes);

	if (!out || !refuse)
		return 0;
	out->seen.input = input;
	out->seen.id = record->id;
	out->seen.tag = record->inner.tag;
	out->seen.value = record->inner.value;
	out->seen.calls = record->calls;
	out->seen.size = bpf_core_type_size(struct crt_record);
	out->seen.off_value = bpf_core_field_offset(struct crt_record, inner.value);
	out->seen.runs++;
	out->writes = *writes;
	if (input == *refuse) {
		out->refused++;
		return -EPERM;
	}
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
