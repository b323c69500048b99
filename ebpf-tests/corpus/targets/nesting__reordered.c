/* Target for nesting.bpf.c: members reordered at every level, padding added, anonymous
 * members moved (still anonymous). */
struct core_nesting {
	long long pad0;
	union {
		long long pad_u;
		long anon_l;
		int anon_u;
	};
	struct core_nesting_inner {
		int pad1;
		struct {
			int pad2;
			int deep;
		} y;
	} z;
	union {
		struct {
			int d;
			int c;
		} x;
		int b;
	} b;
	struct {
		int pad3;
		int a;
	} a;
	struct {
		int anon_a;
	};
};

struct core_nesting core_nesting_anchor;
