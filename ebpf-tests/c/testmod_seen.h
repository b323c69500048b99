/* What testmod_observe.bpf.c and testmod_fmodret.bpf.c record; integration's
 * `programs::CrtSeen` and `programs::CrtFmodRetSeen` have the same layouts. */
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

struct crt_fmodret_seen {
	struct crt_seen seen;
	/* The module's per-CPU crt_testmod_writes on this CPU, read as a typed __ksym. */
	__u64 writes;
	/* Writes the program failed with -EPERM. */
	__u64 refused;
};

#endif
