/* kubeconfig: files merged as kubectl merges them, certificate data versus
 * files, token files, exec credential plugins (with a tiny shell script),
 * the in-cluster service account, and errors that name the context, the
 * file and what is wrong. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "kubeconfig.h"

static char dir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof dir, "/tmp/churnops-kubeconfig-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	/* No user configuration may leak in. */
	setenv("HOME", dir, 1);
	unsetenv("KUBECONFIG");
	unsetenv("KUBERNETES_SERVICE_HOST");
	unsetenv("KUBERNETES_SERVICE_PORT");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static int reset(void **state)
{
	(void)state;
	unsetenv("KUBECONFIG");
	unsetenv("KUBERNETES_SERVICE_HOST");
	unsetenv("KUBERNETES_SERVICE_PORT");
	return 0;
}

/* Writes TEXT to DIR/NAME (MODE for scripts); returns the path (static
 * buffer rotation of 4). */
static const char *put(const char *name, const char *text, mode_t mode)
{
	static char paths[4][256];
	static int next;
	char *p = paths[next++ % 4];
	snprintf(p, 256, "%s/%s", dir, name);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	chmod(p, mode);
	return p;
}

static struct kubeconfig *load_ok(const char *file, const char *context)
{
	struct kubeconfig_options o = { .file = file, .context = context };
	struct kubeconfig *kc = NULL;
	struct err e = {0};
	int rc = kubeconfig_load(&o, &kc, &e);
	if (rc)
		fail_msg("kubeconfig_load: %s", e.msg);
	return kc;
}

static int load_err(const char *file, const char *context, struct err *e)
{
	struct kubeconfig_options o = { .file = file, .context = context };
	struct kubeconfig *kc = NULL;
	int rc = kubeconfig_load(&o, &kc, e);
	assert_null(kc);
	return rc;
}

static const char *FILE_A =
	"apiVersion: v1\n"
	"kind: Config\n"
	"current-context: alpha\n"
	"clusters:\n"
	"- name: shared\n"
	"  cluster:\n"
	"    server: https://a.example:6443/\n"
	"    insecure-skip-tls-verify: true\n"
	"contexts:\n"
	"- name: alpha\n"
	"  context: {cluster: shared, user: ua, namespace: team-a}\n"
	"users:\n"
	"- name: ua\n"
	"  user: {token: token-a}\n";

static const char *FILE_B =
	"apiVersion: v1\n"
	"kind: Config\n"
	"current-context: beta\n"
	"clusters:\n"
	"- name: shared\n"
	"  cluster: {server: 'https://b.example:6443'}\n"
	"- name: other\n"
	"  cluster: {server: 'http://127.0.0.1:8001'}\n"
	"contexts:\n"
	"- name: alpha\n"
	"  context: {cluster: other, user: ub}\n"
	"- name: beta\n"
	"  context: {cluster: shared, user: ub}\n"
	"- name: proxy\n"
	"  context: {cluster: other, user: ub}\n"
	"users:\n"
	"- name: ub\n"
	"  user: {token: token-b}\n";

static void test_merge_first_file_wins(void **state)
{
	(void)state;
	const char *a = put("a.yaml", FILE_A, 0600);
	char env[600];
	const char *b = put("b.yaml", FILE_B, 0600);
	snprintf(env, sizeof env, "%s:%s/missing.yaml:%s", a, dir, b);
	setenv("KUBECONFIG", env, 1);
	/* current-context and "alpha" and "shared" come from the first file. */
	struct kubeconfig *kc = load_ok(NULL, NULL);
	assert_string_equal(kc->context, "alpha");
	assert_string_equal(kc->file, a);
	assert_string_equal(kc->server, "https://a.example:6443");
	assert_string_equal(kc->namespace, "team-a");
	assert_string_equal(kc->token, "token-a");
	assert_true(kc->tls.insecure);
	kubeconfig_destroy(kc);
	/* "beta" is only in the second file but its cluster "shared" is the
	 * first file's. */
	kc = load_ok(NULL, "beta");
	assert_string_equal(kc->file, b);
	assert_string_equal(kc->server, "https://a.example:6443");
	assert_string_equal(kc->namespace, "default");
	assert_string_equal(kc->token, "token-b");
	kubeconfig_destroy(kc);
}

static void test_current_context_from_first_that_sets_it(void **state)
{
	(void)state;
	const char *a = put("nocurrent.yaml",
			    "clusters:\n- name: c\n  cluster: {server: 'https://c:1'}\n", 0600);
	const char *b = put("b.yaml", FILE_B, 0600);
	char env[600];
	snprintf(env, sizeof env, "%s:%s", a, b);
	setenv("KUBECONFIG", env, 1);
	struct kubeconfig *kc = load_ok(NULL, NULL);
	assert_string_equal(kc->context, "beta");
	kubeconfig_destroy(kc);
}

static void test_plain_http_sends_no_credentials(void **state)
{
	(void)state;
	const char *b = put("b.yaml", FILE_B, 0600);
	struct kubeconfig *kc = load_ok(b, "proxy");
	assert_true(kc->plain_http);
	struct http_options o;
	memset(&o, 0, sizeof o);
	kubeconfig_http_options(kc, &o);
	assert_null(o.bearer);
	kubeconfig_destroy(kc);
	kc = load_ok(b, "beta");
	kubeconfig_http_options(kc, &o);
	assert_string_equal(o.bearer, "token-b");
	kubeconfig_destroy(kc);
}

static void test_data_and_files(void **state)
{
	(void)state;
	put("ca.pem", "CA FROM FILE\n", 0600);
	put("client.crt", "CERT FROM FILE\n", 0600);
	put("client.key", "KEY FROM FILE\n", 0600);
	put("token.txt", "file-token\n\n", 0600);
	/* base64 of "CA FROM DATA" and "KEY FROM DATA" */
	const char *cfg = put("data.yaml",
		"current-context: files\n"
		"clusters:\n"
		"- name: from-file\n"
		"  cluster: {server: 'https://x:1', certificate-authority: ca.pem}\n"
		"- name: from-data\n"
		"  cluster:\n"
		"    server: https://x:2\n"
		"    certificate-authority: ca.pem\n"
		"    certificate-authority-data: Q0EgRlJPTSBEQVRB\n"
		"contexts:\n"
		"- name: files\n"
		"  context: {cluster: from-file, user: file-user}\n"
		"- name: data\n"
		"  context: {cluster: from-data, user: data-user}\n"
		"users:\n"
		"- name: file-user\n"
		"  user: {client-certificate: client.crt, client-key: client.key, tokenFile: token.txt}\n"
		"- name: data-user\n"
		"  user:\n"
		"    client-certificate: client.crt\n"
		"    client-key-data: S0VZIEZST00gREFUQQ==\n"
		"    username: admin\n"
		"    password: s3cret\n", 0600);
	struct kubeconfig *kc = load_ok(cfg, NULL);
	char want[300];
	snprintf(want, sizeof want, "%s/ca.pem", dir);
	assert_string_equal(kc->tls.ca_file, want);
	assert_null(kc->tls.ca_data);
	snprintf(want, sizeof want, "%s/client.key", dir);
	assert_string_equal(kc->tls.key_file, want);
	assert_string_equal(kc->token, "file-token");
	kubeconfig_destroy(kc);

	kc = load_ok(cfg, "data");
	assert_non_null(kc->tls.ca_data);
	assert_int_equal(kc->tls.ca_len, 12);
	assert_memory_equal(kc->tls.ca_data, "CA FROM DATA", 12);
	assert_memory_equal(kc->tls.key_data, "KEY FROM DATA", 13);
	assert_non_null(kc->tls.cert_file);
	assert_null(kc->token);
	struct http_options o;
	memset(&o, 0, sizeof o);
	kubeconfig_http_options(kc, &o);
	assert_string_equal(o.basic_user, "admin");
	assert_string_equal(o.basic_password, "s3cret");
	kubeconfig_destroy(kc);
}

static void test_token_file_reread(void **state)
{
	(void)state;
	put("rot.txt", "first\n", 0600);
	const char *cfg = put("rot.yaml",
		"current-context: c\n"
		"clusters: [{name: c, cluster: {server: 'https://x:1'}}]\n"
		"contexts: [{name: c, context: {cluster: c, user: u}}]\n"
		"users: [{name: u, user: {tokenFile: rot.txt}}]\n", 0600);
	struct kubeconfig *kc = load_ok(cfg, NULL);
	assert_string_equal(kc->token, "first");
	put("rot.txt", "second\n", 0600);
	struct err e = {0};
	bool changed = true;
	/* Within the minute nothing is re-read... */
	assert_int_equal(kubeconfig_refresh(kc, false, &changed, &e), 0);
	assert_false(changed);
	assert_string_equal(kc->token, "first");
	/* ...after it (or after a 401) the file is read again. */
	kc->token_read -= KUBECONFIG_TOKEN_REREAD_SECONDS;
	assert_int_equal(kubeconfig_refresh(kc, false, &changed, &e), 0);
	assert_true(changed);
	assert_string_equal(kc->token, "second");
	put("rot.txt", "third\n", 0600);
	assert_int_equal(kubeconfig_refresh(kc, true, &changed, &e), 0);
	assert_string_equal(kc->token, "third");
	kubeconfig_destroy(kc);
}

/* A plugin that counts its runs and answers with EXPIRY (or none). */
static const char *plugin(const char *api, const char *expiry)
{
	char text[2048];
	snprintf(text, sizeof text,
		 "#!/bin/sh\n"
		 "n=$(cat \"$0.count\" 2>/dev/null || echo 0); n=$((n+1)); echo $n > \"$0.count\"\n"
		 "case \"$KUBERNETES_EXEC_INFO\" in *'\"interactive\":false'*) ;; *) exit 9;; esac\n"
		 "[ \"$1\" = get-token ] || { echo \"bad args: $*\" >&2; exit 4; }\n"
		 "printf '{\"apiVersion\":\"%s\",\"kind\":\"ExecCredential\",'\n"
		 "printf '\"status\":{\"token\":\"%%s-%%s\"%s}}' \"$PLUGIN_PREFIX\" \"$n\"\n",
		 api, expiry);
	return put("plugin.sh", text, 0700);
}

static char *read_count(void)
{
	static char buf[32];
	char p[256];
	snprintf(p, sizeof p, "%s/plugin.sh.count", dir);
	FILE *f = fopen(p, "r");
	buf[0] = '\0';
	if (f) {
		if (!fgets(buf, sizeof buf, f))
			buf[0] = '\0';
		fclose(f);
	}
	buf[strcspn(buf, "\n")] = '\0';
	return buf;
}

static const char *exec_config(const char *api, const char *command)
{
	char text[2048];
	snprintf(text, sizeof text,
		 "current-context: eks\n"
		 "clusters: [{name: c, cluster: {server: 'https://x:1'}}]\n"
		 "contexts: [{name: eks, context: {cluster: c, user: u}}]\n"
		 "users:\n"
		 "- name: u\n"
		 "  user:\n"
		 "    exec:\n"
		 "      apiVersion: %s\n"
		 "      command: %s\n"
		 "      args: [get-token, --cluster, c]\n"
		 "      env: [{name: PLUGIN_PREFIX, value: tok}]\n"
		 "      installHint: install the plugin\n",
		 api, command);
	return put("exec.yaml", text, 0600);
}

static void test_exec_plugin_cached_until_expiry(void **state)
{
	(void)state;
	char p[256];
	snprintf(p, sizeof p, "%s/plugin.sh.count", dir);
	unlink(p);
	/* An hour ahead: one run serves every request. */
	char exp[128];
	time_t later = time(NULL) + 3600;
	struct tm tm;
	gmtime_r(&later, &tm);
	strftime(exp, sizeof exp, ",\"expirationTimestamp\":\"%Y-%m-%dT%H:%M:%SZ\"", &tm);
	plugin("client.authentication.k8s.io/v1", exp);
	const char *cfg = exec_config("client.authentication.k8s.io/v1", "./plugin.sh");
	struct kubeconfig *kc = load_ok(cfg, NULL);
	struct err e = {0};
	bool changed = false;
	assert_int_equal(kubeconfig_refresh(kc, false, &changed, &e), 0);
	assert_true(changed);
	assert_string_equal(kc->token, "tok-1");
	assert_int_equal(kubeconfig_refresh(kc, false, &changed, &e), 0);
	assert_false(changed);
	assert_string_equal(read_count(), "1");
	/* A 401 forces a new run. */
	assert_int_equal(kubeconfig_refresh(kc, true, &changed, &e), 0);
	assert_string_equal(kc->token, "tok-2");
	kubeconfig_destroy(kc);

	/* Expired (v1beta1): every refresh runs the plugin again. */
	unlink(p);
	plugin("client.authentication.k8s.io/v1beta1",
	       ",\"expirationTimestamp\":\"2001-01-01T00:00:00Z\"");
	cfg = exec_config("client.authentication.k8s.io/v1beta1", "./plugin.sh");
	kc = load_ok(cfg, NULL);
	assert_int_equal(kubeconfig_refresh(kc, false, NULL, &e), 0);
	assert_int_equal(kubeconfig_refresh(kc, false, NULL, &e), 0);
	assert_string_equal(kc->token, "tok-2");
	assert_string_equal(read_count(), "2");
	kubeconfig_destroy(kc);
}

static void test_exec_plugin_errors(void **state)
{
	(void)state;
	struct err e = {0};
	/* Wrong apiVersion in the answer. */
	plugin("client.authentication.k8s.io/v1beta1", "");
	const char *cfg = exec_config("client.authentication.k8s.io/v1", "./plugin.sh");
	struct kubeconfig *kc = load_ok(cfg, NULL);
	assert_int_equal(kubeconfig_refresh(kc, false, NULL, &e), EXIT_BACKEND);
	assert_non_null(strstr(e.msg, "context \"eks\""));
	assert_non_null(strstr(e.msg, cfg));
	assert_non_null(strstr(e.msg, "plugin.sh"));
	assert_non_null(strstr(e.msg, "v1beta1"));
	kubeconfig_destroy(kc);

	/* A failing plugin: its last stderr line is in the message. */
	put("fail.sh", "#!/bin/sh\necho 'noise' >&2\necho 'token expired: run login' >&2\nexit 3\n",
	    0700);
	cfg = exec_config("client.authentication.k8s.io/v1", "./fail.sh");
	kc = load_ok(cfg, NULL);
	memset(&e, 0, sizeof e);
	assert_int_equal(kubeconfig_refresh(kc, false, NULL, &e), EXIT_BACKEND);
	assert_non_null(strstr(e.msg, "exited with status 3: token expired: run login"));
	kubeconfig_destroy(kc);

	/* A command that is not there: the install hint. */
	cfg = exec_config("client.authentication.k8s.io/v1", "churnops-no-such-plugin");
	kc = load_ok(cfg, NULL);
	memset(&e, 0, sizeof e);
	assert_int_equal(kubeconfig_refresh(kc, false, NULL, &e), EXIT_BACKEND);
	assert_non_null(strstr(e.msg, "command not found: install the plugin"));
	kubeconfig_destroy(kc);

	/* An unsupported protocol version is refused at load time. */
	cfg = exec_config("client.authentication.k8s.io/v1alpha1", "./plugin.sh");
	memset(&e, 0, sizeof e);
	assert_int_equal(load_err(cfg, NULL, &e), EXIT_INPUT);
	assert_non_null(strstr(e.msg, "v1alpha1"));
	assert_non_null(strstr(e.msg, "user \"u\""));
}

static void test_exec_cluster_info_and_interactive(void **state)
{
	(void)state;
	put("info.sh",
	    "#!/bin/sh\n"
	    "printf '%s' \"$KUBERNETES_EXEC_INFO\" > \"$0.info\"\n"
	    "printf '{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\",'\n"
	    "printf '\"status\":{\"token\":\"t\"}}'\n", 0700);
	/* base64 of "CA FROM DATA" */
	const char *cfg = put("info.yaml",
		"current-context: c\n"
		"clusters: [{name: c, cluster: {server: 'https://x:1', "
		"certificate-authority-data: Q0EgRlJPTSBEQVRB}}]\n"
		"contexts: [{name: c, context: {cluster: c, user: u}}]\n"
		"users:\n"
		"- name: u\n"
		"  user:\n"
		"    exec: {apiVersion: client.authentication.k8s.io/v1, command: ./info.sh,\n"
		"           provideClusterInfo: true, interactiveMode: IfAvailable}\n", 0600);
	struct kubeconfig *kc = load_ok(cfg, NULL);
	struct err e = {0};
	assert_int_equal(kubeconfig_refresh(kc, false, NULL, &e), 0);
	kubeconfig_destroy(kc);
	char path[256], info[1024] = "";
	snprintf(path, sizeof path, "%s/info.sh.info", dir);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	assert_non_null(fgets(info, sizeof info, f));
	fclose(f);
	assert_non_null(strstr(info, "\"interactive\":false"));
	assert_non_null(strstr(info, "\"server\":\"https://x:1\""));
	assert_non_null(strstr(info, "\"certificate-authority-data\":\"Q0EgRlJPTSBEQVRB\""));

	cfg = put("always.yaml",
		"current-context: c\n"
		"clusters: [{name: c, cluster: {server: 'https://x:1'}}]\n"
		"contexts: [{name: c, context: {cluster: c, user: u}}]\n"
		"users:\n"
		"- name: u\n"
		"  user:\n"
		"    exec: {apiVersion: client.authentication.k8s.io/v1, command: ./info.sh,\n"
		"           interactiveMode: Always}\n", 0600);
	assert_int_equal(load_err(cfg, NULL, &e), EXIT_INPUT);
	assert_non_null(strstr(e.msg, "interactiveMode: Always"));
}

static void test_errors_name_context_and_file(void **state)
{
	(void)state;
	struct err e = {0};
	const char *cfg = put("broken.yaml",
		"current-context: ghost\n"
		"clusters: [{name: c, cluster: {server: 'https://x:1'}}]\n"
		"contexts:\n"
		"- {name: nouser, context: {cluster: c, user: missing}}\n"
		"- {name: nocluster, context: {cluster: gone}}\n"
		"- {name: badca, context: {cluster: c2}}\n"
		"- {name: badserver, context: {cluster: c3}}\n"
		"clusters2: []\n", 0600);
	assert_int_equal(load_err(cfg, NULL, &e), EXIT_INPUT);
	assert_non_null(strstr(e.msg, cfg));
	assert_non_null(strstr(e.msg, "context \"ghost\" not found"));
	assert_int_equal(load_err(cfg, "nouser", &e), EXIT_INPUT);
	assert_non_null(strstr(e.msg, "context \"nouser\": user \"missing\" not found"));
	assert_non_null(strstr(e.msg, cfg));
	assert_int_equal(load_err(cfg, "nocluster", &e), EXIT_INPUT);
	assert_non_null(strstr(e.msg, "cluster \"gone\" not found"));

	cfg = put("ca.yaml",
		"clusters:\n"
		"- {name: c2, cluster: {server: 'https://x:1', certificate-authority: nope.pem}}\n"
		"- {name: c3, cluster: {server: 'x.example:443'}}\n"
		"- {name: c4, cluster: {server: 'https://x:1', certificate-authority-data: '***'}}\n"
		"contexts:\n"
		"- {name: badca, context: {cluster: c2}}\n"
		"- {name: badserver, context: {cluster: c3}}\n"
		"- {name: baddata, context: {cluster: c4}}\n", 0600);
	assert_int_equal(load_err(cfg, "badca", &e), EXIT_INPUT);
	assert_non_null(strstr(e.msg, "context \"badca\""));
	assert_non_null(strstr(e.msg, "nope.pem"));
	assert_int_equal(load_err(cfg, "badserver", &e), EXIT_INPUT);
	assert_non_null(strstr(e.msg, "not an http(s) URL"));
	assert_int_equal(load_err(cfg, "baddata", &e), EXIT_INPUT);
	assert_non_null(strstr(e.msg, "certificate-authority-data is not valid base64"));
	/* No current-context at all. */
	assert_int_equal(load_err(cfg, NULL, &e), EXIT_INPUT);
	assert_non_null(strstr(e.msg, "no current-context"));

	/* Malformed YAML: the file, line and column. */
	cfg = put("bad.yaml", "clusters:\n  - name: [unclosed\n", 0600);
	assert_int_equal(load_err(cfg, NULL, &e), EXIT_INPUT);
	assert_non_null(strstr(e.msg, cfg));
	assert_non_null(strstr(e.msg, "line"));

	/* Aliases that expand to 2^40 nodes: refused, quickly. */
	char laughs[4096];
	size_t o = (size_t)snprintf(laughs, sizeof laughs, "l0: &l0 [x, x]\n");
	for (int i = 1; i <= 40; i++)
		o += (size_t)snprintf(laughs + o, sizeof laughs - o, "l%d: &l%d [*l%d, *l%d]\n",
				      i, i, i - 1, i - 1);
	cfg = put("laughs.yaml", laughs, 0600);
	assert_int_equal(load_err(cfg, NULL, &e), EXIT_INPUT);
	assert_non_null(strstr(e.msg, "nodes once aliases are expanded"));

	/* --kubeconfig naming a missing file. */
	char missing[256];
	snprintf(missing, sizeof missing, "%s/absent.yaml", dir);
	assert_int_equal(load_err(missing, NULL, &e), EXIT_INPUT);
	assert_non_null(strstr(e.msg, "absent.yaml"));

	/* Nothing at all. */
	assert_int_equal(load_err(NULL, NULL, &e), EXIT_INPUT);
	assert_non_null(strstr(e.msg, "no kubeconfig"));
}

static void test_in_cluster(void **state)
{
	(void)state;
	char sa[256];
	snprintf(sa, sizeof sa, "%s/sa", dir);
	mkdir(sa, 0700);
	put("sa/token", "sa-token\n", 0600);
	put("sa/ca.crt", "CA\n", 0600);
	put("sa/namespace", "mlops-production\n", 0600);
	setenv("KUBERNETES_SERVICE_HOST", "10.0.0.1", 1);
	setenv("KUBERNETES_SERVICE_PORT", "443", 1);
	struct kubeconfig_options o = { .sa_dir = sa };
	struct kubeconfig *kc = NULL;
	struct err e = {0};
	assert_int_equal(kubeconfig_load(&o, &kc, &e), 0);
	assert_true(kc->in_cluster);
	assert_string_equal(kc->server, "https://10.0.0.1:443");
	assert_string_equal(kc->namespace, "mlops-production");
	assert_string_equal(kc->token, "sa-token");
	assert_string_equal(kc->context, "in-cluster");
	/* The rotated token is picked up. */
	put("sa/token", "rotated\n", 0600);
	assert_int_equal(kubeconfig_refresh(kc, true, NULL, &e), 0);
	assert_string_equal(kc->token, "rotated");
	kubeconfig_destroy(kc);

	/* Without a token file the error names the directory. */
	char tok[300];
	snprintf(tok, sizeof tok, "%s/token", sa);
	unlink(tok);
	assert_int_equal(kubeconfig_load(&o, &kc, &e), EXIT_INPUT);
	assert_non_null(strstr(e.msg, sa));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_merge_first_file_wins, reset),
		cmocka_unit_test_setup(test_current_context_from_first_that_sets_it, reset),
		cmocka_unit_test_setup(test_plain_http_sends_no_credentials, reset),
		cmocka_unit_test_setup(test_data_and_files, reset),
		cmocka_unit_test_setup(test_token_file_reread, reset),
		cmocka_unit_test_setup(test_exec_plugin_cached_until_expiry, reset),
		cmocka_unit_test_setup(test_exec_plugin_errors, reset),
		cmocka_unit_test_setup(test_exec_cluster_info_and_interactive, reset),
		cmocka_unit_test_setup(test_errors_name_context_and_file, reset),
		cmocka_unit_test_setup(test_in_cluster, reset),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
