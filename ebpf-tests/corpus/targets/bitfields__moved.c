/* Target for bitfields.bpf.c: bitfields moved across storage units and resized, one plain
 * field turned into a bitfield and one bitfield into a plain field. */
struct core_bitfields {
	unsigned char pad;
	unsigned int ub7 : 7;
	unsigned int ub2 : 3;
	long long sb20 : 30;
	unsigned short ub1;
	int s32 : 12;
	unsigned long long ub40 : 33;
	signed char sb4;
	unsigned long long u32 : 32;
};

struct core_bitfields core_bitfields_anchor;
