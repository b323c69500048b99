/* Target for arrays.bpf.c: fields moved, arrays longer, element type grown. */
struct core_arrays_elem {
	long long pad;
	int y;
	int x;
};

struct core_arrays {
	int n;
	char c[4];
	struct core_arrays_elem e[4][5];
	int a[8];
	struct core_arrays_elem d[3];
	char b[2][3][4];
	struct core_arrays_elem f[];
};

struct core_arrays core_arrays_anchor;
