/* Unit tests: PBKDF2 password hashing, users file parsing and rewriting, room names. */
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "auth/users.h"
#include "base/util.h"

int main(void)
{
	char *h1 = NULL, *h2 = NULL, *text = NULL;
	char path[] = "/tmp/rg-users-XXXXXX";
	char room[300], room2[300];
	rg_users users;
	rg_error err = {0};
	struct stat st;
	size_t len;
	int fd;

	/* the real cost, once: 600,000 iterations, random salt */
	CHECK(rg_password_hash("correct horse", 0, &h1) == RG_OK);
	CHECK(strncmp(h1, "$pbkdf2-sha256$600000$", 22) == 0);
	CHECK(rg_password_verify("correct horse", h1) == 1);
	CHECK(rg_password_verify("correct horsE", h1) == 0);
	CHECK(rg_password_verify("", h1) == 0);
	/* same password, different salt */
	CHECK(rg_password_hash("correct horse", 1000, &h2) == RG_OK);
	CHECK(strcmp(h1 + 22, h2 + 20) != 0);
	CHECK(rg_password_verify("correct horse", h2) == 1);
	/* malformed or hostile encodings never verify */
	CHECK(rg_password_verify("x", "plain") == 0);
	CHECK(rg_password_verify("x", "$pbkdf2-sha256$0$AAAAAAAAAAAAAAAAAAAAAA$AAAA") == 0);
	CHECK(rg_password_verify("x", "$pbkdf2-sha256$99999999999$AAAAAAAAAAAAAAAAAAAAAA$AAAA") == 0);
	CHECK(rg_password_verify("x", "$pbkdf2-sha256$1000$$") == 0);
	CHECK(rg_password_verify("x", "$pbkdf2-sha256$1000$!!!$!!!") == 0);

	/* users file parsing */
	{
		const char *good = "# comment\n\nalice:$pbkdf2-sha256$1000$abc$def:Alice A:admin,staff\r\n"
				   "bob:$pbkdf2-sha256$1000$abc$def\n";
		CHECK(rg_users_parse(good, strlen(good), &users, &err) == RG_OK);
		CHECK(users.n == 2);
		CHECK_STR(rg_users_find(&users, "alice")->display, "Alice A");
		CHECK(rg_users_find(&users, "alice")->ngroups == 2);
		CHECK_STR(rg_users_find(&users, "alice")->groups[1], "staff");
		CHECK_STR(rg_users_find(&users, "bob")->display, "bob");
		CHECK(rg_users_find(&users, "carol") == NULL);
		rg_users_clear(&users);
		CHECK(rg_users_parse("alice\n", 6, &users, &err) == RG_ERR_CONFIG);
		CHECK(strstr(err.message, "line 1") != NULL);
		CHECK(rg_users_parse("a:plain\n", 8, &users, &err) == RG_ERR_CONFIG);
		CHECK(rg_users_parse("a:$pbkdf2-sha256$1$a$b\na:$pbkdf2-sha256$1$a$b\n", 46, &users, &err) ==
		      RG_ERR_CONFIG);
		CHECK(strstr(err.message, "twice") != NULL);
		CHECK(rg_users_parse("a:$pbkdf2-sha256$1\xff\n", 20, &users, &err) == RG_ERR_CONFIG);
	}

	/* users file rewriting: 0600, replace keeps one line, other lines kept */
	fd = mkstemp(path);
	CHECK(fd >= 0);
	CHECK(write(fd, "# keep me\n", 10) == 10);
	close(fd);
	CHECK(rg_users_file_add(path, "alice", "pw1", "Alice", "admin", &err) == RG_OK);
	CHECK(rg_users_file_add(path, "bob", "pw2", NULL, NULL, &err) == RG_OK);
	CHECK(rg_users_file_add(path, "alice", "pw3", "Alice B", NULL, &err) == RG_OK);
	CHECK(rg_users_file_add(path, "ev:il", "pw", NULL, NULL, &err) == RG_ERR_INVALID);
	CHECK(rg_users_file_add(path, "x", "pw", "bad\nname", NULL, &err) == RG_ERR_INVALID);
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
	CHECK(rg_read_file(path, 1 << 20, &text, &len, &err) == RG_OK);
	CHECK(strncmp(text, "# keep me\n", 10) == 0);
	CHECK(rg_users_parse(text, len, &users, &err) == RG_OK);
	CHECK(users.n == 2);
	CHECK(rg_password_verify("pw3", rg_users_find(&users, "alice")->hash) == 1);
	CHECK(rg_password_verify("pw1", rg_users_find(&users, "alice")->hash) == 0);
	CHECK_STR(rg_users_find(&users, "alice")->display, "Alice B");
	rg_users_clear(&users);
	unlink(path);

	/* unique room names: prefix + 22 url-safe chars (128 bits), never equal */
	CHECK(rg_room_new_name("room-", room, sizeof(room)) == RG_OK);
	CHECK(rg_room_new_name("room-", room2, sizeof(room2)) == RG_OK);
	CHECK(strlen(room) == 5 + 22);
	CHECK(strncmp(room, "room-", 5) == 0);
	CHECK(strcmp(room, room2) != 0);
	CHECK(strspn(room + 5, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") == 22);
	CHECK(rg_room_new_name("room-", room, 10) == RG_ERR_INVALID);

	free(h1);
	free(h2);
	free(text);
	CHECK_DONE();
}
