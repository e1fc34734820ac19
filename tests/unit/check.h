/*
 * check.h - a tiny assert helper for roomgate's unit tests (in the spirit of
 * jansson's test suites): CHECK never aborts, every failure is printed with
 * its line, and the program exits non-zero if any failed.
 */
#ifndef RG_CHECK_H
#define RG_CHECK_H

#include <stdio.h>
#include <string.h>

static int check_failures;
static int check_count;

#define CHECK(cond)                                                                    \
	do {                                                                           \
		check_count++;                                                         \
		if (!(cond)) {                                                         \
			check_failures++;                                              \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
		}                                                                      \
	} while (0)

#define CHECK_STR(a, b)                                                                \
	do {                                                                           \
		const char *a_ = (a), *b_ = (b);                                       \
		check_count++;                                                         \
		if (!a_ || !b_ || strcmp(a_, b_)) {                                    \
			check_failures++;                                              \
			fprintf(stderr, "%s:%d: CHECK_STR failed: %s == \"%s\", expected \"%s\"\n", \
				__FILE__, __LINE__, #a, a_ ? a_ : "(null)", b_ ? b_ : "(null)"); \
		}                                                                      \
	} while (0)

#define CHECK_DONE()                                                                   \
	do {                                                                           \
		printf("%d passed, %d failed\n", check_count - check_failures, check_failures); \
		return check_failures ? 1 : 0;                                         \
	} while (0)

#endif
