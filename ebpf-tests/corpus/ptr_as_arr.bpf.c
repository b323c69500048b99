/* Pointer used as an array: the first accessor of the spec indexes the root pointer. */
#include "corpus.h"

#pragma clang attribute push(__attribute__((preserve_access_index)), apply_to = record)

struct core_ptr_as_arr {
	int a;
	int b;
};

#pragma clang attribute pop

SEC("raw_tp/sys_enter")
int ptr_as_arr_probed(void *ctx)
{
	struct core_ptr_as_arr *in = INPUT(struct core_ptr_as_arr);

	PROBE(0, in[0].a);
	PROBE(1, in[2].b);
	return 0;
}

SEC("raw_tp/sys_enter")
int ptr_as_arr_direct(void *ctx)
{
	struct core_ptr_as_arr *in = INPUT(struct core_ptr_as_arr);

	out[2] = in[1].a;
	out[3] = in[3].b;
	return 0;
}
