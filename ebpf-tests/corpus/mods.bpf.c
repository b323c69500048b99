/* Modifiers: const, volatile and typedef chains are skipped when comparing fields. */
#include "corpus.h"

#pragma clang attribute push(__attribute__((preserve_access_index)), apply_to = record)

typedef int core_int_t;
typedef const volatile core_int_t core_cv_int_t;
typedef char *core_str_t;
typedef struct core_mods_inner {
	int x;
} core_mods_inner_t;

struct core_mods {
	int a;
	core_int_t b;
	const volatile long c;
	core_cv_int_t d;
	core_str_t e;
	int *const volatile f;
	core_mods_inner_t g;
	const core_mods_inner_t *h;
};

#pragma clang attribute pop

SEC("raw_tp/sys_enter")
int mods_probed(void *ctx)
{
	struct core_mods *in = INPUT(struct core_mods);

	PROBE(0, in->a);
	PROBE(1, in->b);
	PROBE(2, in->c);
	PROBE(3, in->d);
	PROBE(4, in->e);
	PROBE(5, in->f);
	PROBE(6, in->g.x);
	PROBE(7, in->h);
	return 0;
}

SEC("raw_tp/sys_enter")
int mods_direct(void *ctx)
{
	struct core_mods *in = INPUT(struct core_mods);

	out[8] = in->b;
	out[9] = in->d;
	out[10] = in->g.x;
	return 0;
}
