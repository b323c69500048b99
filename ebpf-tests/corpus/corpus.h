/* Shared by the CO-RE corpus programs (not by the targets).
 *
 * Each program reads an input through CO-RE into `out`, a global. The input is a plain byte
 * buffer in .data: the programs only need a pointer the verifier accepts, the interest of the
 * corpus is in the relocations, which are checked against target BTF built from targets/.
 */
#ifndef CORPUS_H
#define CORPUS_H

#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

/* Input bytes for direct (LDX) reads; large enough for every target layout. */
char input[512] = {};

/* Results, one slot per CO-RE read, so every read survives optimisation. */
__u64 out[64] = {};

/* The input as a pointer to `type`; the compiler cannot see through it. */
#define INPUT(type) ({ type *__p = (type *)input; asm volatile("" : "+r"(__p)); __p; })

/* A read through bpf_probe_read_kernel(): the relocated offset ends up in an ALU imm. */
#define PROBE(slot, src) \
	({ __u64 __v = 0; bpf_core_read(&__v, sizeof(src), &(src)); out[slot] = __v; })

/* Not in libbpf 1.1's bpf_core_read.h. */
#define FIELD_SIGNED(field) __builtin_preserve_field_info(field, BPF_FIELD_SIGNED)

char LICENSE[] SEC("license") = "GPL";

#endif
