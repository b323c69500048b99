/* Expected failures: reads of what the target lacks, in live code. They are poisoned, not
 * rejected: the object relocates, and the verifier would refuse the program when loaded. */
#include "corpus.h"

#pragma clang attribute push(__attribute__((preserve_access_index)), apply_to = record)

struct core_failures {
	int present;
	int missing_field;
	struct {
		int inner_missing;
	} nested;
	int arr[4];
};

struct core_failures_missing_type {
	int a;
};

#pragma clang attribute pop

enum core_failures_enum { FAIL_PRESENT = 1, FAIL_MISSING = 2 };

SEC("raw_tp/sys_enter")
int failures_missing_field(void *ctx)
{
	struct core_failures *in = INPUT(struct core_failures);

	out[0] = in->present;
	out[1] = in->missing_field;
	return 0;
}

SEC("raw_tp/sys_enter")
int failures_missing_probed(void *ctx)
{
	struct core_failures *in = INPUT(struct core_failures);

	PROBE(2, in->nested.inner_missing);
	PROBE(3, in->arr[3]);
	return 0;
}

SEC("raw_tp/sys_enter")
int failures_missing_type(void *ctx)
{
	struct core_failures_missing_type *in = INPUT(struct core_failures_missing_type);

	out[4] = in->a;
	out[5] = bpf_core_field_size(in->a);
	return 0;
}

SEC("raw_tp/sys_enter")
int failures_missing_enumval(void *ctx)
{
	out[6] = bpf_core_enum_value(enum core_failures_enum, FAIL_PRESENT);
	out[7] = bpf_core_enum_value(enum core_failures_enum, FAIL_MISSING);
	return 0;
}
