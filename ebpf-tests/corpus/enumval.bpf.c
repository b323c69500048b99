/* Enumerator existence and values, 32-bit enums. */
#include "corpus.h"

enum core_enumval {
	EV_ZERO = 0,
	EV_ONE = 1,
	EV_MOVED = 2,
	EV_GONE = 3,
	EV_NEG = -2,
};

enum core_enumval_unsigned {
	EVU_BIG = 0x80000000u,
	EVU_SMALL = 7,
};

typedef enum core_enumval core_enumval_t;

SEC("raw_tp/sys_enter")
int enumval(void *ctx)
{
	out[0] = bpf_core_enum_value_exists(enum core_enumval, EV_ZERO);
	out[1] = bpf_core_enum_value_exists(enum core_enumval, EV_GONE);
	out[2] = bpf_core_enum_value_exists(core_enumval_t, EV_MOVED);
	out[3] = bpf_core_enum_value(enum core_enumval, EV_ONE);
	out[4] = bpf_core_enum_value(enum core_enumval, EV_MOVED);
	out[5] = bpf_core_enum_value(enum core_enumval, EV_NEG);
	out[6] = bpf_core_enum_value(core_enumval_t, EV_ONE);
	out[7] = bpf_core_enum_value(enum core_enumval_unsigned, EVU_SMALL);
	if (bpf_core_enum_value_exists(enum core_enumval, EV_GONE))
		out[8] = bpf_core_enum_value(enum core_enumval, EV_GONE);
	return 0;
}
