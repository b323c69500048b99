/* Type-based relocations: existence, size and match of whole types, present or not. */
#include "corpus.h"

struct core_tb_struct {
	int a;
	long b;
};

union core_tb_union {
	int a;
	char c[6];
};

enum core_tb_enum { TB_A, TB_B };

typedef int core_tb_typedef_int;
typedef int (*core_tb_func_proto)(int, void *);

struct core_tb_missing {
	int a;
};

SEC("raw_tp/sys_enter")
int type_based(void *ctx)
{
	out[0] = bpf_core_type_exists(struct core_tb_struct);
	out[1] = bpf_core_type_exists(union core_tb_union);
	out[2] = bpf_core_type_exists(enum core_tb_enum);
	out[3] = bpf_core_type_exists(core_tb_typedef_int);
	out[4] = bpf_core_type_exists(core_tb_func_proto);
	out[5] = bpf_core_type_exists(struct core_tb_missing);
	out[6] = bpf_core_type_size(struct core_tb_struct);
	out[7] = bpf_core_type_size(union core_tb_union);
	out[8] = bpf_core_type_size(enum core_tb_enum);
	out[9] = bpf_core_type_size(core_tb_typedef_int);
	out[10] = bpf_core_type_size(struct core_tb_missing);
	out[11] = bpf_core_type_matches(struct core_tb_struct);
	out[12] = bpf_core_type_matches(union core_tb_union);
	out[13] = bpf_core_type_matches(enum core_tb_enum);
	out[14] = bpf_core_type_matches(core_tb_typedef_int);
	out[15] = bpf_core_type_matches(struct core_tb_missing);
	return 0;
}
