/* TYPE_MATCHES: stricter than existence; member names, kinds and enum values must agree. */
#include "corpus.h"

struct core_tm_inner {
	int x;
};

struct core_tm_same {
	int a;
	struct core_tm_inner *p;
	char name[8];
};

/* Matches a target whose members are in another order. */
struct core_tm_reordered {
	int a;
	long b;
};

/* The target lacks member c: no match. */
struct core_tm_missing_member {
	int a;
	int c;
};

/* Same member names, but a differs in kind (int vs pointer): no match. */
struct core_tm_kind_changed {
	int a;
};

union core_tm_union {
	int a;
	long b;
};

enum core_tm_enum { TM_A = 1, TM_B = 2 };
enum core_tm_enum_changed { TMC_A = 1, TMC_B = 2 };

typedef struct core_tm_same core_tm_same_t;

/* Flavor: matches core_tm_flavor in the target. */
struct core_tm_flavor___mine {
	int f;
};

SEC("raw_tp/sys_enter")
int type_matches(void *ctx)
{
	out[0] = bpf_core_type_matches(struct core_tm_same);
	out[1] = bpf_core_type_matches(struct core_tm_reordered);
	out[2] = bpf_core_type_matches(struct core_tm_missing_member);
	out[3] = bpf_core_type_matches(struct core_tm_kind_changed);
	out[4] = bpf_core_type_matches(union core_tm_union);
	out[5] = bpf_core_type_matches(enum core_tm_enum);
	out[6] = bpf_core_type_matches(enum core_tm_enum_changed);
	out[7] = bpf_core_type_matches(core_tm_same_t);
	out[8] = bpf_core_type_matches(struct core_tm_flavor___mine);
	return 0;
}
