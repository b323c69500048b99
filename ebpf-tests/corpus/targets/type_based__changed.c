/* Target for type_based.bpf.c: types present with other sizes; the typedef now names a
 * long, the missing struct stays missing. */
struct core_tb_struct {
	int a;
	long b;
	long c;
};

union core_tb_union {
	int a;
	char c[16];
};

enum core_tb_enum { TB_A, TB_B, TB_C };

typedef long core_tb_typedef_int;
typedef int (*core_tb_func_proto)(int, void *);

struct core_tb_struct tb_anchor1;
union core_tb_union tb_anchor2;
enum core_tb_enum tb_anchor3;
core_tb_typedef_int tb_anchor4;
core_tb_func_proto tb_anchor5;
