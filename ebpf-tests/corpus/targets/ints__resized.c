/* Target for ints.bpf.c: unsigned fields grown or shrunk (loads are resized), signed ones
 * resized too (their direct loads are poisoned), signedness flipped on one field. */
struct core_ints {
	unsigned long long u8_field;
	short s8_field;
	unsigned char u16_field;
	short s16_field;
	unsigned long long u32_field;
	long long s32_field;
	unsigned int u64_field;
	long long s64_field;
	void *ptr_field;
};

struct core_ints core_ints_anchor;
