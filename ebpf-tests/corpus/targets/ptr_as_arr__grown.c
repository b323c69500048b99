/* Target for ptr_as_arr.bpf.c: a larger element, so indexes scale by 16, not 8. */
struct core_ptr_as_arr {
	int pad;
	int b;
	long long a;
};

struct core_ptr_as_arr core_ptr_as_arr_anchor;
