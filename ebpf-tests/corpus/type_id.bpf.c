/* Type ids: local ids (in this object's BTF) and target ids. */
#include "corpus.h"

struct core_type_id {
	int a;
};

typedef struct core_type_id core_type_id_t;
typedef int core_type_id_int;

struct core_type_id_missing {
	int a;
};

SEC("raw_tp/sys_enter")
int type_id(void *ctx)
{
	out[0] = bpf_core_type_id_local(struct core_type_id);
	out[1] = bpf_core_type_id_local(core_type_id_t);
	out[2] = bpf_core_type_id_local(core_type_id_int);
	out[3] = bpf_core_type_id_local(int);
	out[4] = bpf_core_type_id_kernel(struct core_type_id);
	out[5] = bpf_core_type_id_kernel(core_type_id_t);
	out[6] = bpf_core_type_id_kernel(core_type_id_int);
	out[7] = bpf_core_type_id_kernel(struct core_type_id_missing);
	return 0;
}
