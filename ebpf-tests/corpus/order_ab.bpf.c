/* Binding independent of record order (a read before b): local {a, b} against the
 * flavors x {a, b} and y {b, c} binds to x (a = 0, b = 4). libbpf prunes its candidate list in
 * record order: reading a first drops y, so it agrees; reading b first meets x and y with b at
 * different offsets, so it refuses (see order_ab.bpf.c / order_ba.bpf.c). */
#include "corpus.h"

struct core_order {
	int a;
	int b;
} __attribute__((preserve_access_index));

SEC("raw_tp/sys_enter")
int order_ab(void *ctx)
{
	struct core_order *in = INPUT(struct core_order);

	out[0] = in->a;
	/* Keeps the two reads, and so their CO-RE records, in source order. */
	asm volatile("" ::: "memory");
	out[1] = in->b;
	return 0;
}
