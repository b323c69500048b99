/* Local views of core_reloc_testmod's types, for CO-RE: only the fields the programs read,
 * by name. The module's own layout differs between its two build variants. */
#ifndef TESTMOD_RECORD_H
#define TESTMOD_RECORD_H

struct crt_inner {
	__u32 tag;
	__u64 value;
} __attribute__((preserve_access_index));

struct crt_record {
	__u32 id;
	struct crt_inner inner;
	__u64 calls;
} __attribute__((preserve_access_index));

#endif
