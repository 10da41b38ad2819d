#include "demo.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fileio.h"
#include "http.h"
#include "json.h"
#include "paths.h"
#include "registry.h"
#include "train.h"

#define DEMO_MAX_DATA (64u << 20)

static const struct demo_version versions[] = {
	{"1.0.0", "baseline: 60 shallow trees (depth 3), eta 0.1", 60, 3, 0.1},
	{"1.1.0", "more, deeper trees: 150 rounds, depth 4, eta 0.05", 150, 4, 0.05},
	{"1.2.0", "deeper still: 200 rounds, depth 6, eta 0.03", 200, 6, 0.03},
};

const struct demo_version *demo_versions(size_t *n)
{
	*n = sizeof versions / sizeof versions[0];
	return versions;
}

static char *join(const char *a, const char *b)
{
	size_t n = strlen(a) + strlen(b) + 2;
	char *p = malloc(n);
	if (p)
		snprintf(p, n, "%s/%s", a, b);
	return p;
}

char *demo_dir(struct err *e)
{
	char *data = paths_data_dir(e);
	if (!data)
		return NULL;
	char *d = join(data, "demo");
	free(data);
	if (!d)
		err_set(e, EXIT_INPUT, "out of memory");
	return d;
}

bool demo_model_complete(const char *dir)
{
	static const char *const files[] = {"model.json", "schema.json", "eval.json"};
	for (size_t i = 0; i < 3; i++) {
		char *p = join(dir, files[i]);
		bool ok = p && fileio_exists(p);
		free(p);
		if (!ok)
			return false;
	}
	return true;
}

static int remove_one(const char *path, const struct stat *st, int flag,
		      struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return (flag == FTW_DP ? rmdir(path) : unlink(path)) == 0 ? 0 : -1;
}

static int copy_data(const char *src, const char *dst, struct err *e)
{
	char *buf = NULL;
	size_t len = 0;
	int rc = fileio_read_all(src, DEMO_MAX_DATA, &buf, &len, e);
	if (!rc)
		rc = fileio_write_all(dst, buf, len, e);
	if (rc)
		err_prefix(e, "copying the demo data set");
	free(buf);
	return rc;
}

/* eval.json gets the version label, so every reader (whatif's
 * model_version, the console) names the model the same way. */
static int stamp_version(const char *model_dir, const char *version, struct err *e)
{
	char *path = join(model_dir, "eval.json");
	if (!path)
		return err_set(e, EXIT_INPUT, "out of memory");
	int rc = 0;
	cJSON *eval = json_load_file(path, e);
	if (!eval) {
		rc = e && e->code ? e->code : EXIT_INPUT;
		goto out;
	}
	const char *have = json_str(eval, "version");
	if (have && strcmp(have, version) == 0)
		goto out;
	cJSON_DeleteItemFromObjectCaseSensitive(eval, "version");
	if (!cJSON_AddStringToObject(eval, "version", version)) {
		rc = err_set(e, EXIT_INPUT, "out of memory");
		goto out;
	}
	rc = json_write_file(path, eval, e);
out:
	cJSON_Delete(eval);
	free(path);
	return rc;
}

struct progress_ctx {
	demo_progress_fn fn;
	void *ud;
	const char *version;
	int step, nsteps;
};

static void on_train_progress(void *ud, const char *phase, int done, int total)
{
	struct progress_ctx *p = ud;
	p->fn(p->ud, p->version, p->step, p->nsteps, phase, done, total);
}

int demo_ensure(const struct demo_opts *o, demo_progress_fn progress, void *ud,
		char **dir_out, struct err *e)
{
	*dir_out = NULL;
	char *dir = demo_dir(e);
	if (!dir)
		return EXIT_INPUT;
	char *data_dir = join(dir, "data");
	char *models_dir = join(dir, "models");
	char *data = data_dir ? join(data_dir, DEMO_DATA_FILE) : NULL;
	int rc = 0;
	if (!data_dir || !models_dir || !data) {
		rc = err_set(e, EXIT_INPUT, "out of memory");
		goto out;
	}
	if (o->reset && fileio_exists(dir) &&
	    nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS) != 0) {
		rc = err_errno(e, EXIT_INPUT, errno, "removing the demo workspace %s", dir);
		goto out;
	}
	if ((rc = fileio_mkdirs(data_dir, e)) || (rc = fileio_mkdirs(models_dir, e)))
		goto out;
	if (!fileio_exists(data)) {
		if (!o->source_csv) {
			rc = err_set(e, EXIT_INPUT,
				     "the demo data set was not found: set CHURNOPS_DATA to "
				     "data/telco_churn.csv");
			goto out;
		}
		rc = copy_data(o->source_csv, data, e);
		if (rc)
			goto out;
	}
	size_t n;
	const struct demo_version *v = demo_versions(&n);
	for (size_t i = 0; i < n; i++) {
		char *out = join(models_dir, v[i].version);
		if (!out) {
			rc = err_set(e, EXIT_INPUT, "out of memory");
			goto out;
		}
		if (!demo_model_complete(out)) {
			struct train_opts t;
			train_opts_defaults(&t);
			t.data = data;
			t.out_dir = out;
			t.folds = DEMO_FOLDS;
			t.params.rounds = v[i].rounds;
			t.params.max_depth = v[i].max_depth;
			t.params.eta = v[i].eta;
			t.params.threads = o->threads;
			/* A directory left incomplete by an older run is ours
			 * to replace. */
			t.force = true;
			struct progress_ctx pc = {progress, ud, v[i].version, (int)i + 1, (int)n};
			rc = train_run(&t, progress ? on_train_progress : NULL, &pc, NULL, e);
			if (rc) {
				err_prefix(e, "demo version %s", v[i].version);
				free(out);
				goto out;
			}
		}
		rc = stamp_version(out, v[i].version, e);
		free(out);
		if (rc)
			goto out;
	}
	*dir_out = dir;
	dir = NULL;
out:
	free(dir);
	free(data_dir);
	free(models_dir);
	free(data);
	return rc;
}

/* --- the demo's registry -------------------------------------------------- */

static int register_one(struct registry *reg, const char *models_dir,
			const struct demo_version *v, const char *actor, bool *changed,
			struct err *e)
{
	struct registry_version have = {0};
	struct err ge = {0};
	int rc = registry_get(reg, v->version, &have, &ge);
	registry_version_finish(&have);
	if (rc == 0)
		return 0;
	if (rc != EXIT_INPUT) {
		*e = ge;
		return rc;
	}
	char *dir = join(models_dir, v->version);
	char *model = dir ? join(dir, "model.json") : NULL;
	char *schema_path = dir ? join(dir, "schema.json") : NULL;
	char *eval_path = dir ? join(dir, "eval.json") : NULL;
	char *schema = NULL, *eval = NULL;
	size_t len;
	if (!dir || !model || !schema_path || !eval_path) {
		rc = err_set(e, EXIT_INPUT, "out of memory");
		goto out;
	}
	if ((rc = fileio_read_all(schema_path, JSON_MAX_FILE, &schema, &len, e)) ||
	    (rc = fileio_read_all(eval_path, JSON_MAX_FILE, &eval, &len, e)))
		goto out;
	struct registry_new_version nv = {
		.label = v->version,
		.artifact_path = model,
		.schema_json = schema,
		.eval_json = eval,
		.description = v->summary,
		.creator = actor,
	};
	rc = registry_register(reg, &nv, NULL, e);
	if (!rc)
		*changed = true;
out:
	if (rc)
		err_prefix(e, "registering demo version %s", v->version);
	free(schema);
	free(eval);
	free(model);
	free(schema_path);
	free(eval_path);
	free(dir);
	return rc;
}

/* Moves each of LABELS in turn into STAGE, unless a version holds it. */
static int stage_if_empty(struct registry *reg, enum registry_stage stage,
			  const char *const *labels, size_t n, const char *actor,
			  bool *changed, struct err *e)
{
	struct registry_version cur = {0};
	bool found = false;
	int rc = registry_stage_holder(reg, stage, &cur, &found, e);
	registry_version_finish(&cur);
	if (rc || found)
		return rc;
	struct registry_move m = {.actor = actor, .reason = DEMO_REASON, .override = true};
	for (size_t i = 0; i < n && !rc; i++)
		rc = registry_set_stage(reg, labels[i], stage, &m, e);
	if (!rc)
		*changed = true;
	return rc;
}

int demo_register(const char *dir, struct store *st, const char *actor, bool *changed,
		  struct err *e)
{
	bool dummy;
	if (!changed)
		changed = &dummy;
	*changed = false;
	char *models_dir = join(dir, "models");
	if (!models_dir)
		return err_set(e, EXIT_INPUT, "out of memory");
	int rc = 0;
	struct registry *reg = registry_open_sqlite(st, NULL, e);
	if (!reg) {
		rc = e && e->code ? e->code : EXIT_INPUT;
		goto out;
	}
	size_t n;
	const struct demo_version *v = demo_versions(&n);
	for (size_t i = 0; i < n && !rc; i++)
		rc = register_one(reg, models_dir, &v[i], actor, changed, e);
	/* What kubesim.py starts with: production ran 1.0.0 then 1.1.0,
	 * staging runs 1.2.0. */
	static const char *const production[] = {"1.0.0", "1.1.0"};
	static const char *const staging[] = {"1.2.0"};
	if (!rc)
		rc = stage_if_empty(reg, REGISTRY_STAGE_PRODUCTION, production, 2, actor,
				    changed, e);
	if (!rc)
		rc = stage_if_empty(reg, REGISTRY_STAGE_STAGING, staging, 1, actor, changed, e);
out:
	registry_destroy(reg);
	free(models_dir);
	return rc;
}

/* --- the demo's sandbox cluster ------------------------------------------ */

struct demo_sandbox {
	pid_t pid;
	int out_fd; /* the child's stdout, kept open so it never writes to a closed pipe */
	char url[256];
};

static void sandbox_child(int out_w, const char *log, const char *python,
			  const char *script, const char *speed, pid_t parent)
{
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != parent)
		_exit(127);
	setpgid(0, 0);
	int in = open("/dev/null", O_RDONLY);
	int err = log ? open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644) : -1;
	if (err < 0)
		err = open("/dev/null", O_WRONLY);
	if (in < 0 || err < 0 || dup2(in, STDIN_FILENO) < 0 ||
	    dup2(out_w, STDOUT_FILENO) < 0 || dup2(err, STDERR_FILENO) < 0)
		_exit(127);
	execlp(python, python, script, "--port", "0", "--speed", speed, (char *)NULL);
	dprintf(STDERR_FILENO, "cannot run %s: %s\n", python, strerror(errno));
	_exit(127);
}

/* Reads the child's first line into BUF within TIMEOUT_S; false on EOF or
 * timeout (*EOF says which). */
static bool read_ready_line(int fd, char *buf, size_t size, int timeout_s, bool *eof)
{
	*eof = false;
	size_t len = 0;
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (len + 1 < size) {
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		long left = (long)timeout_s * 1000 - ((now.tv_sec - t0.tv_sec) * 1000 +
						      (now.tv_nsec - t0.tv_nsec) / 1000000);
		if (left <= 0)
			return false;
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int n = poll(&p, 1, (int)left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		ssize_t r = read(fd, buf + len, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			*eof = true;
			return false;
		}
		if (buf[len] == '\n')
			break;
		len++;
	}
	buf[len] = '\0';
	return true;
}

static int write_kubeconfig(const char *path, const char *url, struct err *e)
{
	cJSON *cfg = cJSON_CreateObject();
	cJSON *clusters = cJSON_AddArrayToObject(cfg, "clusters");
	cJSON *users = cJSON_AddArrayToObject(cfg, "users");
	cJSON *contexts = cJSON_AddArrayToObject(cfg, "contexts");
	cJSON *cl = cJSON_CreateObject(), *us = cJSON_CreateObject(), *cx = cJSON_CreateObject();
	cJSON_AddItemToArray(clusters, cl);
	cJSON_AddItemToArray(users, us);
	cJSON_AddItemToArray(contexts, cx);
	cJSON_AddStringToObject(cfg, "apiVersion", "v1");
	cJSON_AddStringToObject(cfg, "kind", "Config");
	cJSON_AddStringToObject(cfg, "current-context", "churnops-demo");
	cJSON_AddStringToObject(cl, "name", "churnops-demo-sandbox");
	cJSON_AddStringToObject(cJSON_AddObjectToObject(cl, "cluster"), "server", url);
	cJSON_AddStringToObject(us, "name", "churnops-demo");
	cJSON_AddObjectToObject(us, "user");
	cJSON_AddStringToObject(cx, "name", "churnops-demo");
	cJSON *c = cJSON_AddObjectToObject(cx, "context");
	cJSON_AddStringToObject(c, "cluster", "churnops-demo-sandbox");
	cJSON_AddStringToObject(c, "user", "churnops-demo");
	cJSON_AddStringToObject(c, "namespace", "mlops-staging");
	/* JSON is YAML: kubectl and core/kubeconfig read it as it is. */
	int rc = json_write_file(path, cfg, e);
	cJSON_Delete(cfg);
	return rc;
}

int demo_sandbox_start(const char *python, const char *script, double speed,
		       const char *kubeconfig, const char *log, int timeout_s,
		       struct demo_sandbox **out, struct err *e)
{
	*out = NULL;
	if (!script || !fileio_exists(script))
		return err_set(e, EXIT_BACKEND, "the sandbox (sandbox/kubesim.py) was not found%s%s",
			       script ? " at " : "", script ? script : "");
	struct demo_sandbox *s = calloc(1, sizeof *s);
	int fds[2] = {-1, -1};
	if (!s)
		return err_set(e, EXIT_BACKEND, "out of memory");
	s->pid = -1;
	s->out_fd = -1;
	if (pipe2(fds, O_CLOEXEC) != 0) {
		free(s);
		return err_errno(e, EXIT_BACKEND, errno, "pipe");
	}
	char speed_s[32];
	snprintf(speed_s, sizeof speed_s, "%g", speed);
	pid_t parent = getpid();
	s->pid = fork();
	if (s->pid < 0) {
		int saved = errno;
		close(fds[0]);
		close(fds[1]);
		free(s);
		return err_errno(e, EXIT_BACKEND, saved, "starting the sandbox");
	}
	if (s->pid == 0)
		sandbox_child(fds[1], log, python, script, speed_s, parent);
	close(fds[1]);
	s->out_fd = fds[0];
	char line[512];
	int rc = 0;
	bool eof;
	if (!read_ready_line(s->out_fd, line, sizeof line, timeout_s, &eof)) {
		int status = 0;
		/* Its stdout closed: it is exiting, give it a moment. */
		bool exited = false;
		for (int i = 0; i < (eof ? 200 : 1) && !exited; i++) {
			exited = waitpid(s->pid, &status, WNOHANG) == s->pid;
			if (!exited && eof)
				usleep(10000);
		}
		if (exited) {
			s->pid = -1;
			if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
				rc = err_set(e, EXIT_BACKEND, "the sandbox needs %s, which could not "
					     "be run", python);
			else
				rc = err_set(e, EXIT_BACKEND, "the sandbox did not start (%s %s "
					     "exited with status %d%s%s)", python, script,
					     WIFEXITED(status) ? WEXITSTATUS(status)
							       : 128 + WTERMSIG(status),
					     log ? "; see " : "", log ? log : "");
		} else {
			rc = err_set(e, EXIT_BACKEND, "the sandbox did not say ready within %d s%s%s",
				     timeout_s, log ? "; see " : "", log ? log : "");
		}
	} else if (strncmp(line, "ready ", 6) != 0 || strlen(line + 6) >= sizeof s->url) {
		rc = err_set(e, EXIT_BACKEND, "the sandbox said '%.100s', not 'ready URL'", line);
	} else {
		snprintf(s->url, sizeof s->url, "%s", line + 6);
		rc = write_kubeconfig(kubeconfig, s->url, e);
	}
	if (rc) {
		demo_sandbox_stop(s);
		return rc;
	}
	*out = s;
	return 0;
}

const char *demo_sandbox_url(const struct demo_sandbox *s)
{
	return s->url;
}

int demo_sandbox_pid(const struct demo_sandbox *s)
{
	return (int)s->pid;
}

/* SIGTERM, then SIGKILL after a second; reaps PID. */
static void stop_child(pid_t pid)
{
	if (pid <= 0)
		return;
	kill(pid, SIGTERM);
	int status;
	bool gone = false;
	for (int i = 0; i < 100 && !gone; i++) {
		pid_t r = waitpid(pid, &status, WNOHANG);
		gone = r == pid || (r < 0 && errno != EINTR);
		if (!gone)
			usleep(10000);
	}
	if (!gone) {
		kill(pid, SIGKILL);
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
	}
}

void demo_sandbox_stop(struct demo_sandbox *s)
{
	if (!s)
		return;
	stop_child(s->pid);
	if (s->out_fd >= 0)
		close(s->out_fd);
	free(s);
}

/* --- the demo's Prometheus ------------------------------------------------ */

struct demo_prometheus {
	pid_t pid;
	char url[64];
};

const char *demo_prometheus_find(void)
{
	static char found[4096];
	if (access("/usr/bin/prometheus", X_OK) == 0)
		return "/usr/bin/prometheus";
	const char *path = getenv("PATH");
	while (path && *path) {
		size_t n = strcspn(path, ":");
		if (n > 0 && n + sizeof "/prometheus" <= sizeof found) {
			snprintf(found, sizeof found, "%.*s/prometheus", (int)n, path);
			if (access(found, X_OK) == 0)
				return found;
		}
		path += n + (path[n] == ':');
	}
	return NULL;
}

/* A loopback port free right now: bound to port 0, read back, closed.
 * Prometheus cannot be told to pick one itself. */
static int free_port(int *port, struct err *e)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return err_errno(e, EXIT_BACKEND, errno, "socket");
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0,
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof a;
	int rc = 0;
	if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) != 0)
		rc = err_errno(e, EXIT_BACKEND, errno, "finding a free port for Prometheus");
	else
		*port = ntohs(a.sin_port);
	close(fd);
	return rc;
}

static int write_prometheus_config(const char *path, const char *target, struct err *e)
{
	char text[1024];
	int n = snprintf(text, sizeof text,
			 "# Written by churnops demo at each start: the sandbox, every second.\n"
			 "global:\n"
			 "  scrape_interval: 1s\n"
			 "  scrape_timeout: 1s\n"
			 "scrape_configs:\n"
			 "  - job_name: sandbox\n"
			 "    static_configs:\n"
			 "      - targets: ['%s']\n", target);
	if (n < 0 || (size_t)n >= sizeof text)
		return err_set(e, EXIT_BACKEND, "Prometheus scrape target too long");
	return fileio_write_all(path, text, (size_t)n, e);
}

static void prometheus_child(const char *binary, char *const argv[], const char *log,
			     pid_t parent)
{
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != parent)
		_exit(127);
	setpgid(0, 0);
	int in = open("/dev/null", O_RDONLY);
	int out = log ? open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644) : -1;
	if (out < 0)
		out = open("/dev/null", O_WRONLY);
	if (in < 0 || out < 0 || dup2(in, STDIN_FILENO) < 0 ||
	    dup2(out, STDOUT_FILENO) < 0 || dup2(out, STDERR_FILENO) < 0)
		_exit(127);
	execv(binary, argv);
	dprintf(STDERR_FILENO, "cannot run %s: %s\n", binary, strerror(errno));
	_exit(127);
}

/* Polls URL/-/ready until it answers 200, the child exits or TIMEOUT_S
 * passes. */
static int wait_ready(struct demo_prometheus *p, const char *log, int timeout_s,
		      struct err *e)
{
	struct http_options ho = {.connect_timeout_ms = 500, .timeout_ms = 1000,
				  .max_response = 4096};
	struct http_client *hc = http_client_create(&ho, e);
	if (!hc)
		return EXIT_BACKEND;
	char url[96];
	snprintf(url, sizeof url, "%s/-/ready", p->url);
	struct timespec t0, now;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int rc = 0;
	for (;;) {
		int status;
		if (waitpid(p->pid, &status, WNOHANG) == p->pid) {
			p->pid = -1;
			rc = err_set(e, EXIT_BACKEND, "Prometheus exited with status %d%s%s",
				     WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status),
				     log ? "; see " : "", log ? log : "");
			break;
		}
		struct http_response r = {0};
		struct http_request req = {.url = url, .accept = "text/plain"};
		struct err he = {0};
		bool ready = http_do(hc, &req, &r, &he) == 0 && r.status == 200;
		http_response_finish(&r);
		if (ready)
			break;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - t0.tv_sec >= timeout_s) {
			rc = err_set(e, EXIT_BACKEND, "Prometheus was not ready within %d s%s%s",
				     timeout_s, log ? "; see " : "", log ? log : "");
			break;
		}
		usleep(100000);
	}
	http_client_destroy(hc);
	return rc;
}

int demo_prometheus_start(const char *binary, const char *dir, const char *target,
			  const char *log, int timeout_s, struct demo_prometheus **out,
			  struct err *e)
{
	*out = NULL;
	char *config = join(dir, "prometheus.yml");
	char *tsdb = join(dir, "tsdb");
	struct demo_prometheus *p = calloc(1, sizeof *p);
	int rc = 0, port = 0;
	if (!config || !tsdb || !p) {
		rc = err_set(e, EXIT_BACKEND, "out of memory");
		goto out;
	}
	p->pid = -1;
	if ((rc = fileio_mkdirs(dir, e)) || (rc = write_prometheus_config(config, target, e)) ||
	    (rc = free_port(&port, e)))
		goto out;
	snprintf(p->url, sizeof p->url, "http://127.0.0.1:%d", port);
	char a_config[4200], a_tsdb[4200], a_listen[64];
	if ((size_t)snprintf(a_config, sizeof a_config, "--config.file=%s", config) >=
		    sizeof a_config ||
	    (size_t)snprintf(a_tsdb, sizeof a_tsdb, "--storage.tsdb.path=%s", tsdb) >=
		    sizeof a_tsdb) {
		rc = err_set(e, EXIT_BACKEND, "the demo directory's path is too long");
		goto out;
	}
	snprintf(a_listen, sizeof a_listen, "--web.listen-address=127.0.0.1:%d", port);
	char *const argv[] = {
		(char *)binary, a_config, a_tsdb, "--storage.tsdb.retention.time=1d", a_listen,
		"--log.level=warn", NULL,
	};
	pid_t parent = getpid();
	p->pid = fork();
	if (p->pid < 0) {
		rc = err_errno(e, EXIT_BACKEND, errno, "starting Prometheus");
		goto out;
	}
	if (p->pid == 0)
		prometheus_child(binary, argv, log, parent);
	rc = wait_ready(p, log, timeout_s, e);
out:
	if (rc) {
		demo_prometheus_stop(p);
	} else {
		*out = p;
	}
	free(config);
	free(tsdb);
	return rc;
}

const char *demo_prometheus_url(const struct demo_prometheus *p)
{
	return p->url;
}

void demo_prometheus_stop(struct demo_prometheus *p)
{
	if (!p)
		return;
	stop_child(p->pid);
	free(p);
}
