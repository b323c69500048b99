/* Primitives: char, int, enum, pointers and function pointers as fields. */
#include "corpus.h"

#pragma clang attribute push(__attribute__((preserve_access_index)), apply_to = record)

enum core_primitives_enum { PRIM_A, PRIM_B };

struct core_primitives {
	char a;
	int b;
	enum core_primitives_enum c;
	void *d;
	int (*f)(const char *);
};

#pragma clang attribute pop

SEC("raw_tp/sys_enter")
int primitives_probed(void *ctx)
{
	struct core_primitives *in = INPUT(struct core_primitives);

	PROBE(0, in->a);
	PROBE(1, in->b);
	PROBE(2, in->c);
	PROBE(3, in->d);
	PROBE(4, in->f);
	return 0;
}

SEC("raw_tp/sys_enter")
int primitives_direct(void *ctx)
{
	struct core_primitives *in = INPUT(struct core_primitives);

	out[5] = in->a;
	out[6] = in->b;
	out[7] = in->c;
	out[8] = (__u64)in->d;
	out[9] = (__u64)in->f;
	return 0;
}
