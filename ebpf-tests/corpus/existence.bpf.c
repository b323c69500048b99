/* Existence: bpf_core_field_exists of fields the target has and lacks, guarding reads. */
#include "corpus.h"

#pragma clang attribute push(__attribute__((preserve_access_index)), apply_to = record)

struct core_existence {
	int a;
	int b;
	int c;
	int arr[4];
	struct {
		int x;
	} s;
};

#pragma clang attribute pop

SEC("raw_tp/sys_enter")
int existence(void *ctx)
{
	struct core_existence *in = INPUT(struct core_existence);

	out[0] = bpf_core_field_exists(in->a);
	out[1] = bpf_core_field_exists(in->b);
	out[2] = bpf_core_field_exists(in->c);
	out[3] = bpf_core_field_exists(in->arr);
	out[4] = bpf_core_field_exists(in->s.x);
	out[5] = bpf_core_field_exists(struct core_existence, b);
	if (bpf_core_field_exists(in->a))
		out[6] = in->a;
	if (bpf_core_field_exists(in->b))
		out[7] = in->b;
	if (bpf_core_field_exists(in->arr))
		out[8] = in->arr[3];
	return 0;
}
