/* Flavors: a `___suffix` is cut off when looking for the target type, so one program can carry
 * several local definitions of the same kernel type. */
#include "corpus.h"

#pragma clang attribute push(__attribute__((preserve_access_index)), apply_to = record)

/* The layout this program was written against. */
struct core_flavors___local {
	int a;
	int b;
	int c;
};

/* Two generations of the same type: the field was renamed. */
struct core_flavors___old {
	int a;
	int old_name;
};

struct core_flavors___new {
	int a;
	int new_name;
};

#pragma clang attribute pop

SEC("raw_tp/sys_enter")
int flavors_probed(void *ctx)
{
	struct core_flavors___local *in = INPUT(struct core_flavors___local);

	PROBE(0, in->a);
	PROBE(1, in->b);
	PROBE(2, in->c);
	return 0;
}

SEC("raw_tp/sys_enter")
int flavors_direct(void *ctx)
{
	struct core_flavors___local *in = INPUT(struct core_flavors___local);

	out[3] = in->a;
	out[4] = in->b;
	out[5] = in->c;
	return 0;
}

/* The usual way to follow a rename: the branch whose field is missing is dead code, its read
 * is poisoned and the verifier discards it. */
SEC("raw_tp/sys_enter")
int flavors_renamed(void *ctx)
{
	void *in = INPUT(void);

	if (bpf_core_field_exists(((struct core_flavors___new *)in)->new_name))
		out[6] = ((struct core_flavors___new *)in)->new_name;
	else
		out[6] = ((struct core_flavors___old *)in)->old_name;
	return 0;
}
