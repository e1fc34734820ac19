/* The small text helpers that stand in for snprintf on the request path:
 * rg_fmt_int / rg_jbuf_int must write what "%lld" writes, rg_copy what
 * snprintf(buf, n, "%s", s) writes. */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "base/jsonw.h"
#include "base/util.h"

static void int_as_printf(long long v)
{
	char ours[32], theirs[32];
	size_t n = rg_fmt_int(ours, v);

	ours[n] = '\0';
	snprintf(theirs, sizeof(theirs), "%lld", v);
	CHECK_STR(ours, theirs);
	CHECK(n <= 20);
}

static void copy_as_printf(size_t n, const char *s)
{
	char ours[16], theirs[16];

	memset(ours, 'x', sizeof(ours));
	memset(theirs, 'x', sizeof(theirs));
	rg_copy(ours, n, s);
	snprintf(theirs, n, "%s", s);
	CHECK(!memcmp(ours, theirs, sizeof(ours))); /* nothing written past n */
}

int main(void)
{
	static const long long ints[] = {0, 1, -1, 9, 10, -10, 99, 100, 201, 1234567890,
					 1795000000, -1795000000, LLONG_MAX, LLONG_MIN,
					 LLONG_MIN + 1};
	char array[4];
	rg_jbuf b;

	for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++)
		int_as_printf(ints[i]);
	for (long long v = -1000; v <= 1000; v += 7)
		int_as_printf(v);
	for (long long v = 1; v < LLONG_MAX / 10; v *= 10) {
		int_as_printf(v);
		int_as_printf(v - 1);
		int_as_printf(-v);
	}

	/* appended to a buffer, which leaves the caller's array when full */
	rg_jbuf_on(&b, array, sizeof(array));
	CHECK(rg_jbuf_put(&b, "[", 1) && rg_jbuf_int(&b, -42) && rg_jbuf_put(&b, ",", 1) &&
	      rg_jbuf_int(&b, LLONG_MIN) && rg_jbuf_put(&b, "]", 1));
	CHECK_STR(b.data, "[-42,-9223372036854775808]");
	CHECK(b.data != array && b.len == strlen(b.data));
	rg_jbuf_done(&b);

	for (size_t n = 1; n <= 8; n++) {
		copy_as_printf(n, "");
		copy_as_printf(n, "abc");
		copy_as_printf(n, "abcdefg");
		copy_as_printf(n, "abcdefgh");
		copy_as_printf(n, "abcdefghijkl");
	}
	CHECK_DONE();
}
