/* Target for mods.bpf.c: modifiers and typedefs on the other side, fields moved. */
typedef long core_long_t;
typedef volatile int core_v_int_t;
typedef struct core_mods_inner {
	int pad;
	int x;
} core_mods_inner_t;

struct core_mods {
	core_mods_inner_t g;
	const char *e;
	volatile int *f;
	core_long_t c;
	core_v_int_t d;
	const int b;
	int a;
	struct core_mods_inner *h;
};

struct core_mods core_mods_anchor;
