/* Arrays: element access, multi-dimensional arrays, arrays of structs, a flexible array. */
#include "corpus.h"

#pragma clang attribute push(__attribute__((preserve_access_index)), apply_to = record)

struct core_arrays_elem {
	int x;
	int y;
};

struct core_arrays {
	int a[5];
	char b[2][3][4];
	char c[1];
	struct core_arrays_elem d[2];
	struct core_arrays_elem e[3][4];
	int n;
	struct core_arrays_elem f[];
};

#pragma clang attribute pop

SEC("raw_tp/sys_enter")
int arrays_probed(void *ctx)
{
	struct core_arrays *in = INPUT(struct core_arrays);

	PROBE(0, in->a[2]);
	PROBE(1, in->b[1][2][3]);
	PROBE(2, in->c[0]);
	PROBE(3, in->d[1].y);
	PROBE(4, in->e[2][3].x);
	PROBE(5, in->f[0].y);
	out[6] = bpf_core_field_size(in->a);
	out[7] = bpf_core_field_size(in->e[1]);
	return 0;
}

SEC("raw_tp/sys_enter")
int arrays_direct(void *ctx)
{
	struct core_arrays *in = INPUT(struct core_arrays);

	out[8] = in->a[4];
	out[9] = in->d[0].x;
	out[10] = in->e[1][1].y;
	out[11] = in->f[3].x;
	return 0;
}
