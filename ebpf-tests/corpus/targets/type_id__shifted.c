/* Target for type_id.bpf.c: other types first, so ids differ from the local ones. */
struct unrelated_one {
	long x;
};
struct unrelated_two {
	struct unrelated_one *p;
};

struct core_type_id {
	int a;
	int b;
};

typedef struct core_type_id core_type_id_t;
typedef int core_type_id_int;

struct unrelated_two type_id_anchor0;
core_type_id_t type_id_anchor1;
core_type_id_int type_id_anchor2;
