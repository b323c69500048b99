/* Target for order_ab.bpf.c: x has both fields, y only b (at another offset). */
struct core_order___x {
	int a;
	int b;
};

struct core_order___y {
	int b;
	int c;
};

struct core_order___x core_order_anchor_x;
struct core_order___y core_order_anchor_y;
