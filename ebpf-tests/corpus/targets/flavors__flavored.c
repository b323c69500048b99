/* Target for flavors.bpf.c: the target's own type carries a flavor suffix too, and the old
 * field name is still there. */
struct core_flavors___target {
	long long pad;
	int b;
	int old_name;
	int a;
	int c;
};

struct core_flavors___target core_flavors_anchor;
