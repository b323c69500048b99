/* Sizes of fields and types: bpf_core_field_size and bpf_core_type_size. */
#include "corpus.h"

#pragma clang attribute push(__attribute__((preserve_access_index)), apply_to = record)

enum core_size_enum { SIZE_A, SIZE_B };
typedef struct core_size core_size_t;

struct core_size {
	int int_field;
	void *ptr_field;
	enum core_size_enum enum_field;
	struct {
		int x;
	} struct_field;
	union {
		int a;
		char b[3];
	} union_field;
	char arr_field[10];
	int (*func_field)(void);
};

#pragma clang attribute pop

SEC("raw_tp/sys_enter")
int size(void *ctx)
{
	struct core_size *in = INPUT(struct core_size);

	out[0] = bpf_core_field_size(in->int_field);
	out[1] = bpf_core_field_size(in->ptr_field);
	out[2] = bpf_core_field_size(in->enum_field);
	out[3] = bpf_core_field_size(in->struct_field);
	out[4] = bpf_core_field_size(in->union_field);
	out[5] = bpf_core_field_size(in->arr_field);
	out[6] = bpf_core_field_size(in->func_field);
	out[7] = bpf_core_type_size(struct core_size);
	out[8] = bpf_core_type_size(enum core_size_enum);
	out[9] = bpf_core_type_size(core_size_t);
	return 0;
}
