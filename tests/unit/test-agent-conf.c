/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * White-box: tlshd's configuration file as lib/agent-conf.c reads it, on
 * the files ktls-utils ships (the 1.x /etc/tlshd/config and the older
 * /etc/tlshd.conf with [main]) and on every rule of the GLib key-file
 * grammar tlshd relies on, with the line named when one is wrong; and the
 * keyring names looked up in /proc/keys text.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "unit.h"

static int parse(const char *text, struct agent_conf *conf, char *err, size_t errlen)
{
	memset(conf, 0, sizeof(*conf));
	err[0] = '\0';
	return agent_conf_parse(text, strlen(text), conf, err, errlen);
}

static bool str_eq(const char *a, const char *b)
{
	return a != NULL && b != NULL && strcmp(a, b) == 0;
}

/* ktls-utils 1.x etc/tlshd/config, as shipped: every key commented out. */
static const char shipped[] =
	"#\n"
	"# See tlshd.conf(5) for details.\n"
	"#\n"
	"\n"
	"[debug]\n"
	"loglevel=0\n"
	"tls=0\n"
	"nl=0\n"
	"\n"
	"[authenticate]\n"
	"#keyrings= <keyring>;<keyring>;<keyring>\n"
	"\n"
	"[authenticate.client]\n"
	"#x509.truststore= <pathname>\n"
	"#x509.crl= <pathname>\n"
	"#x509.certificate= <pathname>\n"
	"#x509.private_key= <pathname>\n"
	"\n"
	"[authenticate.server]\n"
	"#x509.truststore= <pathname>\n"
	"#x509.certificate= <pathname>\n"
	"#x509.private_key= <pathname>\n";

static void test_shipped(void)
{
	struct agent_conf c;
	char err[256];
	int ret = parse(shipped, &c, err, sizeof(err));

	tap_check(ret == 0 && c.debug == 0 && c.n_keyrings == 0 && c.client.truststore == NULL &&
			  c.server.certificate == NULL && c.n_notes == 0,
		  "the shipped /etc/tlshd/config: parses, nothing set (%s)", err);
	agent_conf_free(&c);
}

static void test_full(void)
{
	static const char text[] =
		"[debug]\n"
		"loglevel=2\n"
		"tls = 1\n"
		"[authenticate]\n"
		"keyrings= .nvme;my-keys; 0x1234 ;\n"
		"[authenticate.client]\n"
		"x509.truststore= /etc/pki/ca.pem\n"
		"x509.certificate=/etc/pki/client.pem\n"
		"x509.private_key=\t/etc/pki/client.key\n"
		"[authenticate.server]\n"
		"x509.certificate= /etc/pki/server.pem\n"
		"x509.private_key= /etc/pki/server.key\n"
		"x509.crl= /etc/pki/crl.pem\n"
		"x509.pq.certificate= /etc/pki/mldsa.pem\n"
		"x509.crl= /etc/pki/crl2.pem\n";
	struct agent_conf c;
	char err[256];
	int ret = parse(text, &c, err, sizeof(err));

	tap_check(ret == 0 && c.debug == 2 && c.tls_debug == 1 && c.nl_debug == 0,
		  "[debug] loglevel, tls (blanks around '=')");
	tap_check(ret == 0 && c.n_keyrings == 3 && str_eq(c.keyrings[0], ".nvme") &&
			  str_eq(c.keyrings[1], "my-keys") && str_eq(c.keyrings[2], " 0x1234 "),
		  "[authenticate] keyrings: split on ';', the empty last item dropped");
	tap_check(ret == 0 && str_eq(c.client.truststore, "/etc/pki/ca.pem") &&
			  str_eq(c.client.certificate, "/etc/pki/client.pem") &&
			  str_eq(c.client.private_key, "/etc/pki/client.key"),
		  "[authenticate.client] truststore, certificate, private_key (leading blanks dropped)");
	tap_check(ret == 0 && c.server.truststore == NULL &&
			  str_eq(c.server.certificate, "/etc/pki/server.pem") &&
			  str_eq(c.server.private_key, "/etc/pki/server.key"),
		  "[authenticate.server] certificate and key, no truststore");
	tap_check(ret == 0 && c.n_notes == 2 &&
			  str_eq(c.notes[0], "[authenticate.server] x509.crl") &&
			  str_eq(c.notes[1], "[authenticate.server] x509.pq.certificate"),
		  "keys the agent does not act on are noted once each: %s, %s",
		  c.n_notes > 0 ? c.notes[0] : "-", c.n_notes > 1 ? c.notes[1] : "-");
	agent_conf_free(&c);
}

static void test_legacy(void)
{
	static const char text[] =
		"[main]\n"
		"debug=1\n"
		"tlsdebug=2\n"
		"nl_debug=3\n"
		"keyrings=a;b\n"
		"[authenticate.client]\n"
		"x509.certificate= /c.pem\n"
		"x509.private_key= /k.pem\n";
	struct agent_conf c;
	char err[256];
	int ret = parse(text, &c, err, sizeof(err));

	tap_check(ret == 0 && c.debug == 1 && c.tls_debug == 2 && c.nl_debug == 3 &&
			  c.n_keyrings == 2 && str_eq(c.client.certificate, "/c.pem"),
		  "tlshd 0.x /etc/tlshd.conf: [main] debug, tlsdebug, nl_debug, keyrings");
	agent_conf_free(&c);
}

static void test_grammar(void)
{
	struct agent_conf c;
	char err[256];
	int ret;

	ret = parse("  # indented comment\r\n\r\n[authenticate.client]\r\n"
		    "x509.truststore=/ca.pem\r\n",
		    &c, err, sizeof(err));
	tap_check(ret == 0 && str_eq(c.client.truststore, "/ca.pem"),
		  "CRLF line ends and an indented comment");
	agent_conf_free(&c);

	ret = parse("[authenticate.client]\nx509.truststore=/a.pem  \n", &c, err, sizeof(err));
	tap_check(ret == 0 && str_eq(c.client.truststore, "/a.pem  "),
		  "a value's trailing blanks are kept, as GLib keeps them");
	agent_conf_free(&c);

	ret = parse("[authenticate.client]\nx509.certificate=\\s/p\\tq\\\\r\\n\n", &c, err,
		    sizeof(err));
	tap_check(ret == 0 && str_eq(c.client.certificate, " /p\tq\\r\n"),
		  "escapes \\s \\t \\\\ \\n");
	agent_conf_free(&c);

	ret = parse("[authenticate]\nkeyrings=a\\;b;c\n", &c, err, sizeof(err));
	tap_check(ret == 0 && c.n_keyrings == 2 && str_eq(c.keyrings[0], "a;b") &&
			  str_eq(c.keyrings[1], "c"),
		  "\"\\;\" is a ';' inside a list item");
	agent_conf_free(&c);

	ret = parse("[authenticate.client]\nx509.truststore=/1.pem\n[authenticate.server]\n"
		    "x509.certificate=/s.pem\n[authenticate.client]\nx509.truststore=/2.pem\n"
		    "x509.certificate[de]=/de.pem\nx509.private_key=\n",
		    &c, err, sizeof(err));
	tap_check(ret == 0 && str_eq(c.client.truststore, "/2.pem") &&
			  c.client.certificate == NULL && c.client.private_key == NULL &&
			  str_eq(c.server.certificate, "/s.pem"),
		  "a group named twice is one group, the later key wins, key[locale] and empty "
		  "values are ignored");
	agent_conf_free(&c);

	ret = parse("[debug]\nloglevel=x\ntls=99999999999\nnl= 7 \n", &c, err, sizeof(err));
	tap_check(ret == 0 && c.debug == 0 && c.tls_debug == 0 && c.nl_debug == 7,
		  "integers as GLib reads them; anything else is 0, as in tlshd");
	agent_conf_free(&c);
}

static void test_errors(void)
{
	struct agent_conf c;
	char err[256];
	int ret;

	ret = parse("# comment\nx509.truststore=/a\n[debug]\n", &c, err, sizeof(err));
	tap_check_err("a key before any group", ret, EBADMSG, err, "line 2",
		      "does not start with a group", NULL);
	ret = parse("[debug]\nloglevel=1\nthis is not a pair\n", &c, err, sizeof(err));
	tap_check_err("a line that is no pair, group or comment", ret, EBADMSG, err, "line 3",
		      "this is not a pair", NULL);
	ret = parse("[debug\n", &c, err, sizeof(err));
	tap_check_err("an unclosed group", ret, EBADMSG, err, "line 1", "not a valid group",
		      NULL);
	ret = parse("[]\n", &c, err, sizeof(err));
	tap_check_err("an empty group name", ret, EBADMSG, err, "not a valid group", NULL);
	ret = parse("[a]b\n", &c, err, sizeof(err));
	tap_check_err("text after a group", ret, EBADMSG, err, "not a valid group", NULL);
	ret = parse("[debug]\n=1\n", &c, err, sizeof(err));
	tap_check_err("an empty key", ret, EBADMSG, err, "line 2", NULL);
	ret = parse("[authenticate.server]\nx509.certificate=/a\\qb\n", &c, err, sizeof(err));
	tap_check_err("an unknown escape in a value the agent reads", ret, EBADMSG, err,
		      "[authenticate.server] x509.certificate", "invalid escape", NULL);
	ret = agent_conf_parse("[debug]\nloglevel=1\0\n", 20, &c, err, sizeof(err));
	tap_check_err("a NUL byte", ret, EBADMSG, err, "NUL", NULL);
	tap_check(agent_conf_parse(NULL, 0, &c, err, sizeof(err)) == -EINVAL, "NULL text: -EINVAL");
}

static void test_load(void)
{
	struct agent_conf c;
	char err[256] = "", path[4096], missing[4200];
	int ret;

	unit_write_file(unit_tmpdir(), "tlshd.conf", shipped, strlen(shipped), path);
	ret = agent_conf_load(path, &c, err, sizeof(err));
	tap_check(ret == 0, "agent_conf_load() of a written file (%s)", err);
	if (ret == 0)
		agent_conf_free(&c);
	snprintf(missing, sizeof(missing), "%s/none.conf", unit_tmpdir());
	ret = agent_conf_load(missing, &c, err, sizeof(err));
	tap_check_err("a missing file", ret, ENOENT, err, "none.conf", NULL);
	unit_write_file(unit_tmpdir(), "bad.conf", "[x]\nnope\n", 9, path);
	ret = agent_conf_load(path, &c, err, sizeof(err));
	tap_check_err("a bad file names itself and the line", ret, EBADMSG, err, "bad.conf",
		      "line 2", NULL);
}

/* /proc/keys as Linux 7.2 prints it. */
static const char proc_keys[] =
	"0c9e6561 I--Q---     2 perm 1f3f0000     0 65534 keyring   _uid.0: empty\n"
	"1c68af0e I--Q---     1 perm 0c030000     0 65534 keyring   .user_reg: 2\n"
	"2a1b3c4d I------     1 perm 3f010000     0     0 keyring   .nvme: 3\n"
	"2a1b3c4e I------     1 perm 3f010000     0     0 keyring   .nfs: empty\n"
	"30000001 I--Q---     1 perm 3f010000     0     0 user      .nfsd: 32\n"
	"37c6fec2 I--Q---     1 perm 1f3f0000     0 65534 keyring   _uid_ses.0: 1\n";

static void test_keyring_find(void)
{
	tap_check(agent_keyring_find(proc_keys, ".nvme") == 0x2a1b3c4d,
		  ".nvme found in /proc/keys");
	tap_check(agent_keyring_find(proc_keys, ".nfs") == 0x2a1b3c4e,
		  ".nfs (empty) found, not taken for .nfsd");
	tap_check(agent_keyring_find(proc_keys, ".nfsd") == -ENOENT,
		  "a user key named .nfsd is not a keyring: -ENOENT");
	tap_check(agent_keyring_find(proc_keys, ".nv") == -ENOENT, "a prefix does not match");
	tap_check(agent_keyring_find(proc_keys, "0x10") == 16 &&
			  agent_keyring_find(proc_keys, "1234") == 1234 &&
			  agent_keyring_find(proc_keys, " 0x1234 ") == 0x1234 &&
			  agent_keyring_find(proc_keys, " .nvme ") == 0x2a1b3c4d,
		  "numbers are serials (hex or decimal); blanks around a list item do not count");
	tap_check(agent_keyring_find(proc_keys, "") == -ENOENT &&
			  agent_keyring_find("", ".nvme") == -ENOENT,
		  "empty name or empty file: -ENOENT");
}

int main(void)
{
	test_shipped();
	test_full();
	test_legacy();
	test_grammar();
	test_errors();
	test_load();
	test_keyring_find();
	return tap_done();
}
