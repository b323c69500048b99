/* Target for enum64val.bpf.c: 64-bit values changed, E64_GONE removed; the "shrunk" enum is a
 * 32-bit unsigned enum whose E64SH_B has the top bit set (libbpf sign-extends it, we keep it
 * unsigned: a documented difference). */
enum core_enum64 {
	E64_TOP = 0x8000000000000001ULL,
	E64_SMALL = 0x200000000ULL,
	E64_BIG = 3,
};

enum core_enum64_signed {
	E64S_POS = 0x300000000LL,
	E64S_NEG = -0x300000000LL,
};

enum core_enum64_shrunk {
	E64SH_A = 5,
	E64SH_B = 0x80000000u,
};

enum core_enum64 enum64_anchor1;
enum core_enum64_signed enum64_anchor2;
enum core_enum64_shrunk enum64_anchor3;
