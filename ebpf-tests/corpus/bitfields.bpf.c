/* Bitfields, read through bpf_probe_read_kernel() (probed) and by direct loads. Offsets and
 * sizes of bitfields are not validated against the instruction: the compiler's choice of load
 * may differ from libbpf's. */
#include "corpus.h"

#pragma clang attribute push(__attribute__((preserve_access_index)), apply_to = record)

struct core_bitfields {
	unsigned int ub1 : 1;
	unsigned int ub2 : 2;
	unsigned int ub7 : 7;
	int sb4 : 4;
	int sb20 : 20;
	unsigned long long ub40 : 40;
	unsigned int u32;
	int s32;
};

#pragma clang attribute pop

SEC("raw_tp/sys_enter")
int bitfields_probed(void *ctx)
{
	struct core_bitfields *in = INPUT(struct core_bitfields);

	out[0] = BPF_CORE_READ_BITFIELD_PROBED(in, ub1);
	out[1] = BPF_CORE_READ_BITFIELD_PROBED(in, ub2);
	out[2] = BPF_CORE_READ_BITFIELD_PROBED(in, ub7);
	out[3] = BPF_CORE_READ_BITFIELD_PROBED(in, sb4);
	out[4] = BPF_CORE_READ_BITFIELD_PROBED(in, sb20);
	out[5] = BPF_CORE_READ_BITFIELD_PROBED(in, ub40);
	out[6] = BPF_CORE_READ_BITFIELD_PROBED(in, u32);
	out[7] = BPF_CORE_READ_BITFIELD_PROBED(in, s32);
	return 0;
}

SEC("raw_tp/sys_enter")
int bitfields_direct(void *ctx)
{
	struct core_bitfields *in = INPUT(struct core_bitfields);

	out[8] = BPF_CORE_READ_BITFIELD(in, ub1);
	out[9] = BPF_CORE_READ_BITFIELD(in, sb4);
	out[10] = BPF_CORE_READ_BITFIELD(in, sb20);
	out[11] = BPF_CORE_READ_BITFIELD(in, ub40);
	out[12] = BPF_CORE_READ_BITFIELD(in, s32);
	return 0;
}
