/* Target for flavors.bpf.c: same fields in another order, and the new field name. */
struct core_flavors {
	int c;
	int a;
	int new_name;
	int b;
};

struct core_flavors core_flavors_anchor;
