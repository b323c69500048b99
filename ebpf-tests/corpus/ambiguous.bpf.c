/* Expected failure: two flavors of the target type put the field at different offsets, so
 * the relocation is ambiguous and both libbpf and core-reloc refuse the object. */
#include "corpus.h"

struct core_ambiguous {
	int a;
	int b;
} __attribute__((preserve_access_index));

SEC("raw_tp/sys_enter")
int ambiguous(void *ctx)
{
	struct core_ambiguous *in = INPUT(struct core_ambiguous);

	out[0] = in->b;
	return 0;
}
