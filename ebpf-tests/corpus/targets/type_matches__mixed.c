/* Target for type_matches.bpf.c: some types match, some differ. */
struct core_tm_inner {
	long x;
	long y;
};

struct core_tm_same {
	int a;
	struct core_tm_inner *p;
	char name[8];
};

struct core_tm_reordered {
	long b;
	int a;
	int extra;
};

struct core_tm_missing_member {
	int a;
	int b;
};

struct core_tm_kind_changed {
	int *a;
};

union core_tm_union {
	long b;
	int a;
};

enum core_tm_enum { TM_B = 2, TM_A = 1, TM_C = 3 };
enum core_tm_enum_changed { TMC_A = 1, TMC_B = 5 };

typedef struct core_tm_same core_tm_same_t;

struct core_tm_flavor {
	int f;
};

core_tm_same_t tm_anchor1;
struct core_tm_reordered tm_anchor2;
struct core_tm_missing_member tm_anchor3;
struct core_tm_kind_changed tm_anchor4;
union core_tm_union tm_anchor5;
enum core_tm_enum tm_anchor6;
enum core_tm_enum_changed tm_anchor7;
struct core_tm_flavor tm_anchor8;
