/* Target for enumval.bpf.c: values renumbered, EV_GONE removed, signedness kept. */
enum core_enumval {
	EV_MOVED = 20,
	EV_ZERO = 0,
	EV_ONE = 10,
	EV_NEG = -20,
};

enum core_enumval_unsigned {
	EVU_SMALL = 0x80000001u,
	EVU_BIG = 0x80000000u,
};

typedef enum core_enumval core_enumval_t;

core_enumval_t enumval_anchor1;
enum core_enumval_unsigned enumval_anchor2;
