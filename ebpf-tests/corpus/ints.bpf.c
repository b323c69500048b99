/* Integers of every size and signedness: direct loads carry the field size, which follows the
 * target when values survive it (unsigned and pointers) and poisons otherwise. */
#include "corpus.h"

#pragma clang attribute push(__attribute__((preserve_access_index)), apply_to = record)

struct core_ints {
	__u8 u8_field;
	__s8 s8_field;
	__u16 u16_field;
	__s16 s16_field;
	__u32 u32_field;
	__s32 s32_field;
	__u64 u64_field;
	__s64 s64_field;
	void *ptr_field;
};

#pragma clang attribute pop

SEC("raw_tp/sys_enter")
int ints_probed(void *ctx)
{
	struct core_ints *in = INPUT(struct core_ints);

	PROBE(0, in->u8_field);
	PROBE(1, in->s8_field);
	PROBE(2, in->u16_field);
	PROBE(3, in->s16_field);
	PROBE(4, in->u32_field);
	PROBE(5, in->s32_field);
	PROBE(6, in->u64_field);
	PROBE(7, in->s64_field);
	out[8] = FIELD_SIGNED(in->s32_field);
	out[9] = FIELD_SIGNED(in->u32_field);
	return 0;
}

SEC("raw_tp/sys_enter")
int ints_direct(void *ctx)
{
	struct core_ints *in = INPUT(struct core_ints);

	out[10] = in->u8_field;
	out[11] = in->s8_field;
	out[12] = in->u16_field;
	out[13] = in->s16_field;
	out[14] = in->u32_field;
	out[15] = in->s32_field;
	out[16] = in->u64_field;
	out[17] = in->s64_field;
	out[18] = (__u64)in->ptr_field;
	return 0;
}
