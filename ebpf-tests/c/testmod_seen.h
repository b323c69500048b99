/* What testmod_observe.bpf.c records; integration's `programs::CrtSeen` has the same layout. */
#ifndef TESTMOD_SEEN_H
#define TESTMOD_SEEN_H

struct crt_seen {
	__u64 input;
	__u64 id;
	__u64 tag;
	__u64 value;
	__u64 calls;
	__u64 size;
	__u64 off_value;
	__u64 runs;
};

#endif
