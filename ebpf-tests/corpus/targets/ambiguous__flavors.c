/* Target for ambiguous.bpf.c: two flavors disagree on where `b` is. */
struct core_ambiguous___one {
	int a;
	int b;
};

struct core_ambiguous___two {
	int b;
	int a;
};

struct core_ambiguous___one core_ambiguous_anchor1;
struct core_ambiguous___two core_ambiguous_anchor2;
