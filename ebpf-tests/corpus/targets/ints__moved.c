/* Target for ints.bpf.c: same sizes and signedness, every field moved. */
struct core_ints {
	void *ptr_field;
	long long s64_field;
	unsigned long long u64_field;
	int s32_field;
	unsigned int u32_field;
	short s16_field;
	unsigned short u16_field;
	signed char s8_field;
	unsigned char u8_field;
};

struct core_ints core_ints_anchor;
