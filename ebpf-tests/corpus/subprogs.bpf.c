/* CO-RE reads in .text subprograms shared by two programs, and in a static subprogram of the
 * program's own section. */
#include "corpus.h"

#pragma clang attribute push(__attribute__((preserve_access_index)), apply_to = record)

struct core_subprogs {
	int a;
	int b;
	long c;
};

#pragma clang attribute pop

__noinline int subprogs_read_a(struct core_subprogs *in)
{
	return in->a + bpf_core_field_size(in->c);
}

static __noinline long subprogs_read_c(struct core_subprogs *in)
{
	return in->c;
}

SEC("raw_tp/sys_enter")
int subprogs_first(void *ctx)
{
	struct core_subprogs *in = INPUT(struct core_subprogs);

	out[0] = subprogs_read_a(in);
	out[1] = in->b;
	return 0;
}

SEC("raw_tp/sys_enter")
int subprogs_second(void *ctx)
{
	struct core_subprogs *in = INPUT(struct core_subprogs);

	out[2] = subprogs_read_a(in) + subprogs_read_c(in);
	return 0;
}
