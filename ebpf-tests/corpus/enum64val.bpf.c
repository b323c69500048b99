/* 64-bit enumerators (BTF ENUM64), and ENUM64 against a 32-bit ENUM in the target. */
#include "corpus.h"

enum core_enum64 {
	E64_SMALL = 1,
	E64_BIG = 0x1ffffffffULL,
	E64_TOP = 0x8000000000000000ULL,
	E64_GONE = 0x100000000ULL,
};

enum core_enum64_signed {
	E64S_NEG = -0x100000000LL,
	E64S_POS = 0x100000000LL,
};

/* Local ENUM64, target a 32-bit enum. */
enum core_enum64_shrunk {
	E64SH_A = 0x100000000ULL,
	E64SH_B = 1,
};

SEC("raw_tp/sys_enter")
int enum64val(void *ctx)
{
	out[0] = bpf_core_enum_value_exists(enum core_enum64, E64_BIG);
	out[1] = bpf_core_enum_value_exists(enum core_enum64, E64_GONE);
	out[2] = bpf_core_enum_value(enum core_enum64, E64_SMALL);
	out[3] = bpf_core_enum_value(enum core_enum64, E64_BIG);
	out[4] = bpf_core_enum_value(enum core_enum64, E64_TOP);
	out[5] = bpf_core_enum_value(enum core_enum64_signed, E64S_NEG);
	out[6] = bpf_core_enum_value(enum core_enum64_signed, E64S_POS);
	out[7] = bpf_core_enum_value(enum core_enum64_shrunk, E64SH_A);
	out[8] = bpf_core_enum_value(enum core_enum64_shrunk, E64SH_B);
	return 0;
}
