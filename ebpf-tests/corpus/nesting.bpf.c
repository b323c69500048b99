/* Nesting: named and anonymous struct/union members; anonymous members count in the access
 * spec like named ones. */
#include "corpus.h"

#pragma clang attribute push(__attribute__((preserve_access_index)), apply_to = record)

struct core_nesting {
	struct {
		int a;
	} a;
	union {
		int b;
		struct {
			int c;
			int d;
		} x;
	} b;
	struct core_nesting_inner {
		struct {
			int deep;
		} y;
	} z;
	/* Anonymous members: their fields are reached through unnamed accessors. */
	struct {
		int anon_a;
		union {
			int anon_u;
			long anon_l;
		};
	};
};

#pragma clang attribute pop

SEC("raw_tp/sys_enter")
int nesting_probed(void *ctx)
{
	struct core_nesting *in = INPUT(struct core_nesting);

	PROBE(0, in->a.a);
	PROBE(1, in->b.b);
	PROBE(2, in->b.x.d);
	PROBE(3, in->z.y.deep);
	PROBE(4, in->anon_a);
	PROBE(5, in->anon_u);
	return 0;
}

SEC("raw_tp/sys_enter")
int nesting_direct(void *ctx)
{
	struct core_nesting *in = INPUT(struct core_nesting);

	out[6] = in->b.x.c;
	out[7] = in->z.y.deep;
	out[8] = in->anon_l;
	return 0;
}
