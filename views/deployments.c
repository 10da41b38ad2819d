/* deployments: each environment's deployment as the cluster sees it.
 *
 * Per environment (core/envs: staging, production) one panel: the rolling
 * deployment's revision and its rollout judged as `kubectl rollout status`
 * judges it, its replicas as a bar, the blue-green Service's live colour,
 * the canary VirtualService's weights, the revision history (images and
 * change-causes) and the pods.
 *
 * Data comes from worker jobs, one per environment, each building an
 * immutable snapshot; the view re-reads an environment a few seconds after
 * its last answer (a poll rather than a watch: one watch per object would
 * hold a worker thread each). Every environment owns one Kubernetes client,
 * used by at most one job at a time, and one cancel flag: a read that takes
 * longer than READ_LIMIT_S is cancelled and reported, and quitting cancels
 * whatever still runs, so a hung API server never holds a key or the exit.
 * Text from the server is drawn through the widgets, which sanitise it
 * (core/sanitize).
 *
 * P and R promote and roll back the focused environment through the plan
 * runner (views/plan.h), whose panel takes the view's area while a plan is
 * built, confirmed, run and (until Esc) after it finished. The runner is
 * told when the last read shows a canary taking traffic (the
 * VirtualService's canary weight above 0), so that the plan it builds
 * preselects the canary strategy; `s` in the panel picks another strategy.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "envs.h"
#include "kube.h"
#include "kubeconfig.h"
#include "plan.h"
#include "views.h"
#include "widgets.h"

#define REFRESH_S 3      /* seconds between an answer and the next read */
#define READ_LIMIT_S 8   /* a read still running after this is cancelled */
#define STALE_S 15       /* data older than this says its age in the overview */
#define MAX_ENVS 4

enum health { HEALTH_UNKNOWN, HEALTH_OK, HEALTH_PROGRESSING, HEALTH_FAILED,
	      HEALTH_UNREACHABLE, HEALTH_UNCONFIGURED };

static const char *const health_names[] = {
	"reading", "ok", "progressing", "failed", "unreachable", "not configured",
};

/* One deployment as shown. */
struct dep_info {
	bool found;
	char *error;  /* why it could not be read, or NULL */
	struct kube_deployment d;
	struct kube_rollout rollout;
	char *image, *version; /* first container's */
};

struct env_snapshot {
	const struct envs_env *env;
	char *error;          /* the environment could not be read at all */
	enum health health;
	char *context, *server;
	struct dep_info rolling;
	struct kube_history history;
	char *history_error;
	struct kube_pods pods;
	char *pods_error;
	char *live, *bg_error;  /* blue-green */
	struct dep_info blue, green;
	struct kube_routes routes;
	bool have_routes;
	char *vs_error;
	struct dep_info canary;
	time_t read_at;
	double seconds;
};

/* An environment's slot: owned by the view; CLIENT is used only by the
 * one job in flight (BUSY), never by the UI thread meanwhile. */
struct env_slot {
	const struct envs_env *env;
	struct kube_client *client;
	atomic_bool cancel;
	bool busy;
	bool timed_out;       /* this job was cancelled for taking too long */
	time_t started, next; /* when the job began; when to read again */
	unsigned long seq;
	struct env_snapshot *snap;  /* the latest read */
	struct env_snapshot *good;  /* the latest read without an error (may be SNAP) */
	int pod_offset;
};

struct deployments {
	struct console *console;
	struct env_slot slots[MAX_ENVS];
	size_t nenvs;
	size_t focus;
	bool stopping;
	struct plan_runner plan;  /* P and R: the plan panel (views/plan.h) */
	bool read_only;           /* P and R are refused, and not offered */
};

/* --- snapshots ---------------------------------------------------------- */

static void dep_info_finish(struct dep_info *i)
{
	free(i->error);
	free(i->image);
	free(i->version);
	kube_deployment_finish(&i->d);
}

static void snapshot_free(void *p)
{
	struct env_snapshot *s = p;
	if (!s)
		return;
	free(s->error);
	free(s->context);
	free(s->server);
	dep_info_finish(&s->rolling);
	kube_history_finish(&s->history);
	free(s->history_error);
	kube_pods_finish(&s->pods);
	free(s->pods_error);
	free(s->live);
	free(s->bg_error);
	dep_info_finish(&s->blue);
	dep_info_finish(&s->green);
	if (s->have_routes)
		kube_routes_finish(&s->routes);
	free(s->vs_error);
	dep_info_finish(&s->canary);
	free(s);
}

struct read_arg {
	struct env_slot *slot;
	char *kubeconfig; /* --kubeconfig, or NULL for KUBECONFIG and ~/.kube/config */
};

static void read_arg_free(void *p)
{
	struct read_arg *a = p;
	free(a->kubeconfig);
	free(a);
}

/* Reads deployment NAME into I; false when it could not be read. */
static bool read_deployment(struct kube_client *k, const struct envs_env *env,
			    const char *name, struct dep_info *i)
{
	struct err e = {0};
	memset(i, 0, sizeof *i);
	if (kube_get_deployment(k, env->namespace, name, &i->d, &e)) {
		i->error = strdup(e.msg[0] ? e.msg : "unknown error");
		return false;
	}
	i->found = true;
	kube_rollout_status(&i->d, 0, &i->rollout);
	if (i->d.ncontainers) {
		i->image = i->d.containers[0].image ? strdup(i->d.containers[0].image) : NULL;
		i->version = envs_version_from_image(env->image_template, i->image);
	}
	return true;
}

/* Whether MSG, a failed read's error, says the API server could not be
 * used at all (refused, timed out, cancelled, an error status) rather than
 * that the object is missing or forbidden. */
static bool unreachable(const char *msg)
{
	if (!msg)
		return true;
	return !strstr(msg, "not found") && !strstr(msg, "forbidden") &&
	       !strstr(msg, "Forbidden");
}

static void *read_run(void *arg, struct err *e)
{
	struct read_arg *a = arg;
	struct env_slot *slot = a->slot;
	const struct envs_env *env = slot->env;
	struct env_snapshot *s = calloc(1, sizeof *s);
	if (!s) {
		err_set(e, EXIT_INPUT, "out of memory");
		return NULL;
	}
	s->env = env;
	struct err ce = {0};
	if (!slot->client) {
		struct kubeconfig_options ko = {.file = a->kubeconfig};
		struct kubeconfig *kc = NULL;
		if (kubeconfig_load(&ko, &kc, &ce) || kube_client_create(kc, &slot->client, &ce)) {
			s->error = strdup(ce.msg);
			s->health = strncmp(ce.msg, "no kubeconfig", 13) == 0
					    ? HEALTH_UNCONFIGURED : HEALTH_UNREACHABLE;
			goto out;
		}
		kube_client_set_cancel(slot->client, &slot->cancel);
	}
	struct kube_client *k = slot->client;
	const struct kubeconfig *kc = kube_client_config(k);
	s->context = strdup(kc->context ? kc->context : "");
	s->server = strdup(kc->server ? kc->server : "");

	if (!read_deployment(k, env, env->deployment, &s->rolling)) {
		bool down = unreachable(s->rolling.error);
		s->health = down ? HEALTH_UNREACHABLE : HEALTH_FAILED;
		if (down) {
			s->error = strdup(s->rolling.error ? s->rolling.error : "out of memory");
			goto out;
		}
	} else {
		const struct kube_rollout *r = &s->rolling.rollout;
		s->health = r->failed ? HEALTH_FAILED : r->done ? HEALTH_OK : HEALTH_PROGRESSING;
		struct err he = {0};
		if (kube_history(k, &s->rolling.d, &s->history, &he))
			s->history_error = strdup(he.msg);
		struct err pe = {0};
		if (kube_list_pods(k, env->namespace, s->rolling.d.selector, &s->pods, &pe))
			s->pods_error = strdup(pe.msg);
	}

	char name[256];
	struct err be = {0};
	char *selector = NULL;
	if (kube_service_selector(k, env->namespace, env->service, &selector, env->colour_key,
				  &s->live, &be)) {
		s->bg_error = strdup(be.msg);
	} else {
		snprintf(name, sizeof name, "%s-blue", env->deployment);
		read_deployment(k, env, name, &s->blue);
		snprintf(name, sizeof name, "%s-green", env->deployment);
		read_deployment(k, env, name, &s->green);
	}
	free(selector);

	struct err ve = {0};
	if (kube_virtualservice_routes(k, env->namespace, env->virtualservice, &s->routes, &ve)) {
		s->vs_error = strdup(ve.msg);
	} else {
		s->have_routes = true;
		snprintf(name, sizeof name, "%s-canary", env->deployment);
		read_deployment(k, env, name, &s->canary);
	}
out:
	s->read_at = time(NULL);
	return s;
}

/* --- jobs --------------------------------------------------------------- */

static void start_read(struct deployments *v, struct tui_app *app, struct env_slot *slot)
{
	if (slot->busy || v->stopping || v->console->cluster_note)
		return;
	struct read_arg *a = calloc(1, sizeof *a);
	if (!a)
		return;
	a->slot = slot;
	if (v->console->kubeconfig && !(a->kubeconfig = strdup(v->console->kubeconfig))) {
		free(a);
		return;
	}
	atomic_store(&slot->cancel, false);
	slot->timed_out = false;
	struct worker_job j = {
		.run = read_run, .free_arg = read_arg_free, .free_result = snapshot_free,
		.arg = a, .seq = ++slot->seq, .kind = (int)(slot - v->slots),
		.background = true,
	};
	struct err e = {0};
	if (tui_app_submit(app, v, &j, &e)) {
		tui_app_toast(app, ROLE_CRIT, "deployments: %s", e.msg);
		slot->next = tui_app_clock() + REFRESH_S;
		return;
	}
	slot->busy = true;
	slot->started = time(NULL);
}

static void dv_show(void *state, struct tui_app *app)
{
	struct deployments *v = state;
	for (size_t i = 0; i < v->nenvs; i++)
		if (!v->slots[i].snap)
			start_read(v, app, &v->slots[i]);
}

static bool dv_tick(void *state, struct tui_app *app)
{
	struct deployments *v = state;
	time_t now = time(NULL);
	for (size_t i = 0; i < v->nenvs; i++) {
		struct env_slot *s = &v->slots[i];
		if (s->busy && !s->timed_out && now - s->started >= READ_LIMIT_S) {
			s->timed_out = true;
			atomic_store(&s->cancel, true);
		} else if (!s->busy && tui_app_clock() >= s->next) {
			start_read(v, app, s);
		}
	}
	/* Ages on screen change every second. */
	return true;
}

static void dv_on_snapshot(void *state, struct tui_app *app, struct worker_job *j)
{
	struct deployments *v = state;
	if (j->kind >= PLAN_KIND_BASE) {
		plan_runner_on_snapshot(&v->plan, app, j);
		return;
	}
	if (j->kind < 0 || (size_t)j->kind >= v->nenvs)
		return;
	struct env_slot *s = &v->slots[j->kind];
	if (j->seq != s->seq)
		return;
	s->busy = false;
	s->next = tui_app_clock() + REFRESH_S;
	if (!j->result)
		return;
	struct env_snapshot *snap = j->result;
	j->result = NULL;
	if (s->timed_out && snap->error && strstr(snap->error, "cancelled")) {
		char *msg = NULL;
		if (asprintf(&msg, "the API server did not answer within %d s (%s)",
			     READ_LIMIT_S, snap->error) >= 0) {
			free(snap->error);
			snap->error = msg;
		}
	}
	/* A failed read keeps the last good one on screen, marked stale. */
	if (!snap->error) {
		if (s->good != s->snap)
			snapshot_free(s->good);
		snapshot_free(s->snap);
		s->snap = s->good = snap;
	} else {
		if (s->snap != s->good)
			snapshot_free(s->snap);
		s->snap = snap;
	}
}

static void dv_stop(void *state)
{
	struct deployments *v = state;
	v->stopping = true;
	for (size_t i = 0; i < v->nenvs; i++)
		atomic_store(&v->slots[i].cancel, true);
}

/* --- drawing ------------------------------------------------------------ */

/* kubectl's HumanDuration of seconds. */
static void human_age(long s, char *buf, size_t size)
{
	if (s < 0)
		s = 0;
	long m = s / 60, h = m / 60;
	if (s < 120)
		snprintf(buf, size, "%lds", s);
	else if (m < 10 && s % 60)
		snprintf(buf, size, "%ldm%lds", m, s % 60);
	else if (m < 180)
		snprintf(buf, size, "%ldm", m);
	else if (h < 8 && m % 60)
		snprintf(buf, size, "%ldh%ldm", h, m % 60);
	else if (h < 48)
		snprintf(buf, size, "%ldh", h);
	else
		snprintf(buf, size, "%ldd", h / 24);
}

static void age_of(const char *ts, char *buf, size_t size)
{
	struct tm tm;
	memset(&tm, 0, sizeof tm);
	if (!ts || !strptime(ts, "%Y-%m-%dT%H:%M:%S", &tm)) {
		snprintf(buf, size, "?");
		return;
	}
	human_age((long)difftime(time(NULL), timegm(&tm)), buf, size);
}

static enum tui_role health_role(enum health h)
{
	switch (h) {
	case HEALTH_OK:
		return ROLE_OK;
	case HEALTH_PROGRESSING:
		return ROLE_WARN;
	case HEALTH_FAILED:
	case HEALTH_UNREACHABLE:
		return ROLE_CRIT;
	default:
		return ROLE_STALE;
	}
}

static const char *image_of(const struct dep_info *i)
{
	return !i->found ? "(not found)" : i->image ? i->image : "?";
}

static void draw_bluegreen(const struct env_snapshot *s, int y, int x, int w)
{
	int used = widget_text(y, x, w, ROLE_MUTED, "blue-green ");
	if (s->bg_error) {
		widget_text(y, x + used, w - used, ROLE_STALE, s->bg_error);
		return;
	}
	const struct dep_info *live = NULL, *idle = NULL;
	if (s->live && strcmp(s->live, "blue") == 0) {
		live = &s->blue;
		idle = &s->green;
	} else if (s->live && strcmp(s->live, "green") == 0) {
		live = &s->green;
		idle = &s->blue;
	}
	char line[512];
	if (!live) {
		snprintf(line, sizeof line, "live: %s (the Service selects no known colour)",
			 s->live ? s->live : "<none>");
		widget_text(y, x + used, w - used, ROLE_WARN, line);
		return;
	}
	snprintf(line, sizeof line, "live %s %s %ld/%ld ready   idle %s %s %ld/%ld ready",
		 s->live, image_of(live), live->d.ready, live->d.spec_replicas,
		 live == &s->blue ? "green" : "blue", image_of(idle),
		 idle->d.ready, idle->d.spec_replicas);
	widget_text(y, x + used, w - used, live->found && live->d.ready >= live->d.spec_replicas
			    ? ROLE_NORMAL : ROLE_WARN, line);
}

static void draw_canary(const struct env_snapshot *s, int y, int x, int w)
{
	int used = widget_text(y, x, w, ROLE_MUTED, "canary     ");
	if (s->vs_error) {
		widget_text(y, x + used, w - used, ROLE_STALE, s->vs_error);
		return;
	}
	char line[1024];
	size_t off = 0;
	line[0] = '\0';
	for (size_t i = 0; i < s->routes.n && off < sizeof line; i++) {
		const struct kube_route *r = &s->routes.routes[i];
		const char *what = "";
		char vbuf[320] = "";
		if (r->subset && strcmp(r->subset, "canary") == 0)
			snprintf(vbuf, sizeof vbuf, " %s", image_of(&s->canary));
		else if (r->subset && strcmp(r->subset, "stable") == 0)
			snprintf(vbuf, sizeof vbuf, " %s", image_of(&s->rolling));
		what = r->subset ? r->subset : r->host ? r->host : "-";
		int n = snprintf(line + off, sizeof line - off, "%s%s %ld%%%s", i ? "   " : "",
				 what, r->weight < 0 ? 100 : r->weight, vbuf);
		if (n < 0)
			break;
		off += (size_t)n;
	}
	widget_text(y, x + used, w - used, ROLE_NORMAL, s->routes.n ? line : "no routes");
}

static void draw_revisions(const struct env_snapshot *s, struct tui_rect r)
{
	widget_text(r.y, r.x, r.w, ROLE_MUTED, "REV  AGE    IMAGE / CAUSE (*current)");
	if (s->history_error) {
		widget_text(r.y + 1, r.x, r.w, ROLE_CRIT, s->history_error);
		return;
	}
	int y = r.y + 1;
	/* Newest first; each revision takes two lines when there is room. */
	bool two = r.h - 1 >= 2 * (int)s->history.n;
	for (size_t i = s->history.n; i-- > 0 && y < r.y + r.h;) {
		const struct kube_revision *v = &s->history.revs[i];
		char age[48], line[512];
		age_of(v->created, age, sizeof age);
		/* "container=image": the image alone when there is one container. */
		const char *images = v->images ? v->images : "";
		const char *eq = strchr(images, '=');
		if (eq && !strchr(images, ','))
			images = eq + 1;
		char rev[24];
		snprintf(rev, sizeof rev, "%ld%s", v->revision, v->current ? "*" : "");
		snprintf(line, sizeof line, "%-4s %-6s %s", rev, age, images);
		widget_text(y++, r.x, r.w, v->current ? ROLE_ACCENT : ROLE_NORMAL, line);
		if (two && y < r.y + r.h) {
			snprintf(line, sizeof line, "            %s",
				 v->change_cause ? v->change_cause : "<none>");
			widget_text(y++, r.x, r.w, ROLE_MUTED, line);
		}
	}
}

static void draw_pods(const struct env_slot *slot, const struct env_snapshot *s,
		      struct tui_rect r)
{
	int nw = 4;
	for (size_t i = 0; i < s->pods.n; i++) {
		int l = (int)strlen(s->pods.pods[i].name ? s->pods.pods[i].name : "");
		nw = l > nw ? (l < 63 ? l : 63) : nw;
	}
	char head[160];
	snprintf(head, sizeof head, "%-*s %-5s %-9s %-3s %-5s %s", nw, "POD", "READY", "PHASE",
		 "RST", "AGE", "NODE");
	widget_text(r.y, r.x, r.w, ROLE_MUTED, head);
	if (s->pods_error) {
		widget_text(r.y + 1, r.x, r.w, ROLE_CRIT, s->pods_error);
		return;
	}
	int y = r.y + 1;
	for (size_t i = (size_t)slot->pod_offset; i < s->pods.n && y < r.y + r.h; i++) {
		const struct kube_pod *p = &s->pods.pods[i];
		enum tui_role role = p->ready ? ROLE_NORMAL : ROLE_WARN;
		char ready[16], age[48], line[128];
		snprintf(ready, sizeof ready, "%ld/%ld", p->ready_containers, p->ncontainers);
		age_of(p->created, age, sizeof age);
		/* The name and the phase are the server's text: each is clipped to
		 * its column, so a long or escaped one cannot push the others out. */
		int x = r.x, end = r.x + r.w;
		widget_text(y, x, nw < end - x ? nw : end - x, role, p->name ? p->name : "");
		x += nw + 1;
		snprintf(line, sizeof line, "%-5s ", ready);
		x += widget_text(y, x, end - x, role, line);
		widget_text(y, x, 9 < end - x ? 9 : end - x, role, p->phase ? p->phase : "?");
		x += 10;
		snprintf(line, sizeof line, "%-3ld %-5s ", p->restarts, age);
		x += widget_text(y, x, end - x, role, line);
		widget_text(y++, x, end - x, role, p->node ? p->node : "");
	}
	if (s->pods.n == 0)
		widget_text(y, r.x, r.w, ROLE_MUTED, "no pods");
}

static void draw_data(struct deployments *v, struct env_slot *slot,
		      const struct env_snapshot *s, struct tui_rect in);

static void draw_env(struct deployments *v, struct env_slot *slot, struct tui_rect box,
		     bool focused)
{
	const struct env_snapshot *s = slot->snap;
	char title[256], age[48];
	if (s) {
		human_age((long)difftime(time(NULL), s->read_at), age, sizeof age);
		snprintf(title, sizeof title, "%s (%s) - %s - read %s ago%s%s", slot->env->name,
			 slot->env->namespace, health_names[s->health], age,
			 slot->busy && time(NULL) - slot->started >= 2 ? ", reading..." : "",
			 focused && !v->read_only ? " - P promote, R rollback" : "");
	} else {
		snprintf(title, sizeof title, "%s (%s)", slot->env->name, slot->env->namespace);
	}
	struct tui_rect in = widget_box(box, title, focused);
	int x = in.x + 1, w = in.w - 2, y = in.y;
	if (in.h < 1 || w < 10)
		return;
	if (v->console->cluster_note) {
		const char *note = v->console->cluster_note;
		widget_text(y++, x, w, ROLE_WARN, "no cluster:");
		size_t starts[6], lens[6];
		size_t nl = layout_wrap(note, w, starts, lens, 6);
		for (size_t i = 0; i < nl && i < 6 && y < in.y + in.h; i++) {
			char line[1024];
			size_t n = lens[i] < sizeof line - 1 ? lens[i] : sizeof line - 1;
			memcpy(line, note + starts[i], n);
			line[n] = '\0';
			widget_text(y++, x, w, ROLE_NORMAL, line);
		}
		return;
	}
	if (!s) {
		widget_text(y, x, w, ROLE_STALE, "reading the cluster...");
		return;
	}
	if (s->error) {
		widget_text(y++, x, w, health_role(s->health),
			    s->health == HEALTH_UNCONFIGURED ? "no cluster configured"
							      : "cannot read the cluster");
		size_t starts[6], lens[6];
		size_t nl = layout_wrap(s->error, w, starts, lens, 6);
		size_t maxl = slot->good ? 4 : 6;
		for (size_t i = 0; i < nl && i < maxl && y < in.y + in.h; i++) {
			char line[1024];
			size_t n = lens[i] < sizeof line - 1 ? lens[i] : sizeof line - 1;
			memcpy(line, s->error + starts[i], n);
			line[n] = '\0';
			widget_text(y++, x, w, ROLE_CRIT, line);
		}
		if (s->health == HEALTH_UNCONFIGURED && y < in.y + in.h)
			widget_text(y, x, w, ROLE_MUTED,
				    "churnops --kubeconfig FILE, KUBECONFIG or ~/.kube/config");
		if (!slot->good || y + 1 >= in.y + in.h)
			return;
		human_age((long)difftime(time(NULL), slot->good->read_at), age, sizeof age);
		widget_printf(y++, x, w, ROLE_STALE, "as last read %s ago (may be out of date):", age);
		draw_data(v, slot, slot->good, (struct tui_rect){y, in.x, in.y + in.h - y, in.w});
		return;
	}
	draw_data(v, slot, s, in);
}

/* The environment's data from S in IN (the box's inside). */
static void draw_data(struct deployments *v, struct env_slot *slot,
		      const struct env_snapshot *s, struct tui_rect in)
{
	int x = in.x + 1, w = in.w - 2, y = in.y;
	char line[1024];
	if (in.h < 8) {
		/* Too small for the panel: one line, as the overview shows it. */
		enum tui_role role = deployments_env_health(v, (size_t)(slot - v->slots), line,
							    sizeof line);
		widget_text(y, x, w, role, line);
		return;
	}
	snprintf(line, sizeof line, "context %s  server %s", s->context ? s->context : "",
		 s->server ? s->server : "");
	widget_text(y++, x, w, ROLE_MUTED, line);
	const struct dep_info *d = &s->rolling;
	int used = widget_text(y, x, w, ROLE_MUTED, "rolling    ");
	if (!d->found) {
		widget_text(y++, x + used, w - used, ROLE_CRIT, d->error ? d->error : "?");
	} else {
		snprintf(line, sizeof line, "%s revision %ld  %s%s", d->d.name, d->d.revision,
			 d->image ? d->image : "?", d->d.paused ? "  (paused)" : "");
		widget_text(y++, x + used, w - used, ROLE_NORMAL, line);
		used = widget_text(y, x, w, ROLE_MUTED, "rollout    ");
		snprintf(line, sizeof line, "%s: %s", health_names[s->health], d->rollout.message);
		widget_text(y++, x + used, w - used, health_role(s->health), line);
		/* Replicas: ready of desired as the bar, the other counts after it. */
		long spec = d->d.spec_replicas;
		double frac = spec > 0 ? (double)d->d.ready / (double)spec : 1.0;
		if (frac > 1)
			frac = 1;
		used = widget_text(y, x, w, ROLE_MUTED, "replicas   ");
		snprintf(line, sizeof line, " %ld/%ld ready, %ld updated, %ld available, %ld current",
			 d->d.ready, spec, d->d.updated, d->d.available, d->d.replicas);
		int bar = w - used > 60 ? 20 : 10;
		widget_gauge(y++, x + used, bar, frac,
			     d->d.ready >= spec && d->d.updated >= spec ? ROLE_OK : ROLE_WARN, "");
		widget_text(y - 1, x + used + bar, w - used - bar, ROLE_NORMAL, line);
	}
	if (y < in.y + in.h)
		draw_bluegreen(s, y++, x, w);
	if (y < in.y + in.h)
		draw_canary(s, y++, x, w);
	if (!d->found || y >= in.y + in.h)
		return;
	int h = in.y + in.h - y;
	/* The pods get the room their names and nodes need, the revisions
	 * the rest (at least a third). */
	int pw = 4, nodew = 4;
	for (size_t i = 0; i < s->pods.n; i++) {
		const struct kube_pod *p = &s->pods.pods[i];
		int l = p->name ? (int)strlen(p->name) : 0, nl = p->node ? (int)strlen(p->node) : 0;
		pw = l > pw ? (l < 63 ? l : 63) : pw;
		nodew = nl > nodew ? (nl < 40 ? nl : 40) : nodew;
	}
	int lw = w - (pw + 27 + nodew) - 2;
	if (lw < w / 3)
		lw = w / 3;
	draw_revisions(s, (struct tui_rect){y, x, h, lw});
	draw_pods(slot, s, (struct tui_rect){y, x + lw + 2, h, w - lw - 2});
}

static void dv_draw(void *state, struct tui_app *app, struct tui_rect area)
{
	struct deployments *v = state;
	v->read_only = tui_app_read_only(app);
	if (v->nenvs == 0)
		return;
	if (plan_runner_active(&v->plan)) {
		plan_runner_draw(&v->plan, area);
		return;
	}
	int each = area.h / (int)v->nenvs;
	for (size_t i = 0; i < v->nenvs; i++) {
		int h = i + 1 == v->nenvs ? area.h - each * (int)i : each;
		struct tui_rect box = {area.y + each * (int)i, area.x, h, area.w};
		draw_env(v, &v->slots[i], box, v->focus == i);
	}
}

/* The strategy SLOT's last good read shows running, when it tells: a canary
 * taking traffic. NULL otherwise (the plan runner then decides). */
static const enum actions_strategy *strategy_seen(const struct env_slot *slot,
						  enum actions_strategy *buf)
{
	const struct env_snapshot *s = slot->good;
	if (!s || !s->have_routes)
		return NULL;
	for (size_t i = 0; i < s->routes.n; i++) {
		const struct kube_route *r = &s->routes.routes[i];
		if (r->http_index == 0 && r->subset && strcmp(r->subset, "canary") == 0 &&
		    r->weight > 0) {
			*buf = ACTIONS_CANARY;
			return buf;
		}
	}
	return NULL;
}

static enum tui_result dv_key(void *state, struct tui_app *app, enum keymap_action a)
{
	struct deployments *v = state;
	struct env_slot *s = &v->slots[v->focus];
	enum actions_strategy seen;
	if (plan_runner_active(&v->plan)) {
		if (a == ACT_CANCEL && plan_runner_close(&v->plan))
			return TUI_REDRAW;
		if (a == ACT_STRATEGY)
			return plan_runner_next_strategy(&v->plan, app) ? TUI_REDRAW : TUI_HANDLED;
		if (a == ACT_SELECT)
			return plan_runner_confirm(&v->plan, app) ? TUI_REDRAW : TUI_HANDLED;
		return a == ACT_ROLLBACK || a == ACT_PROMOTE || a == ACT_CANCEL ? TUI_HANDLED
											 : TUI_IGNORED;
	}
	switch (a) {
	case ACT_ROLLBACK:
		plan_runner_rollback(&v->plan, app, s->env, strategy_seen(s, &seen));
		return TUI_REDRAW;
	case ACT_PROMOTE:
		plan_runner_promote(&v->plan, app, s->env, strategy_seen(s, &seen));
		return TUI_REDRAW;
	case ACT_NEXT_PANEL:
		v->focus = (v->focus + 1) % v->nenvs;
		return TUI_REDRAW;
	case ACT_PREV_PANEL:
		v->focus = (v->focus + v->nenvs - 1) % v->nenvs;
		return TUI_REDRAW;
	case ACT_REFRESH:
		for (size_t i = 0; i < v->nenvs; i++)
			start_read(v, app, &v->slots[i]);
		tui_app_toast(app, ROLE_OK, "reading the cluster");
		return TUI_REDRAW;
	case ACT_DOWN:
		if (s->snap && (size_t)s->pod_offset + 1 < s->snap->pods.n)
			s->pod_offset++;
		return TUI_REDRAW;
	case ACT_UP:
		if (s->pod_offset > 0)
			s->pod_offset--;
		return TUI_REDRAW;
	case ACT_HOME:
		s->pod_offset = 0;
		return TUI_REDRAW;
	default:
		return TUI_IGNORED;
	}
}

static void dv_destroy(void *state)
{
	struct deployments *v = state;
	if (!v)
		return;
	for (size_t i = 0; i < v->nenvs; i++) {
		kube_client_destroy(v->slots[i].client);
		if (v->slots[i].good != v->slots[i].snap)
			snapshot_free(v->slots[i].good);
		snapshot_free(v->slots[i].snap);
	}
	plan_runner_finish(&v->plan);
	free(v);
}

void *deployments_view_create(struct console *c)
{
	struct deployments *v = calloc(1, sizeof *v);
	if (!v)
		return NULL;
	v->console = c;
	plan_runner_init(&v->plan, v, c->kubeconfig);
	size_t n;
	const struct envs_env *envs = envs_defaults(&n);
	for (size_t i = 0; i < n && i < MAX_ENVS; i++) {
		v->slots[i].env = &envs[i];
		atomic_init(&v->slots[i].cancel, false);
	}
	v->nenvs = n < MAX_ENVS ? n : MAX_ENVS;
	return v;
}

void deployments_view_rollback(void *state, struct tui_app *app, const char *name)
{
	struct deployments *v = state;
	for (size_t i = 0; i < v->nenvs; i++) {
		if (strcmp(v->slots[i].env->name, name) != 0)
			continue;
		tui_app_show_view(app, "deployments");
		if (!plan_runner_active(&v->plan))
			v->focus = i;
		enum actions_strategy seen;
		plan_runner_rollback(&v->plan, app, v->slots[i].env,
				     strategy_seen(&v->slots[i], &seen));
		return;
	}
	tui_app_toast(app, ROLE_WARN, "no environment named %s to roll back", name);
}

size_t deployments_env_count(void *state)
{
	struct deployments *v = state;
	return v ? v->nenvs : 0;
}

enum tui_role deployments_env_health(void *state, size_t i, char *buf, size_t n)
{
	struct deployments *v = state;
	const struct env_slot *s = &v->slots[i];
	const struct env_snapshot *snap = s->snap;
	if (v->console->cluster_note) {
		snprintf(buf, n, "%s: no cluster - %s", s->env->name, v->console->cluster_note);
		return ROLE_MUTED;
	}
	if (!snap) {
		snprintf(buf, n, "%s: reading...", s->env->name);
		return ROLE_STALE;
	}
	/* At a glance: the age only once it is stale, so the line changes
	 * when the state does, not every second. */
	char age[64] = "";
	long secs = (long)difftime(time(NULL), snap->read_at);
	if (secs >= STALE_S) {
		char h[48];
		human_age(secs, h, sizeof h);
		snprintf(age, sizeof age, " (read %s ago)", h);
	}
	if (snap->error) {
		snprintf(buf, n, "%s: %s%s - %s", s->env->name, health_names[snap->health], age,
			 snap->error);
	} else if (snap->rolling.found) {
		snprintf(buf, n, "%s: %s - %s rev %ld %s, %ld/%ld ready%s", s->env->name,
			 health_names[snap->health], snap->rolling.d.name, snap->rolling.d.revision,
			 snap->rolling.version ? snap->rolling.version : "?",
			 snap->rolling.d.ready, snap->rolling.d.spec_replicas, age);
	} else {
		snprintf(buf, n, "%s: %s - %s%s", s->env->name, health_names[snap->health],
			 snap->rolling.error ? snap->rolling.error : "?", age);
	}
	return snap->health == HEALTH_UNCONFIGURED ? ROLE_MUTED : health_role(snap->health);
}

const struct view_ops deployments_view_ops = {
	.name = "deployments",
	.jump = ACT_VIEW_DEPLOYMENTS,
	.scope = KEYMAP_DEPLOYMENTS,
	.show = dv_show,
	.draw = dv_draw,
	.handle_key = dv_key,
	.on_snapshot = dv_on_snapshot,
	.tick = dv_tick,
	.stop = dv_stop,
	.destroy = dv_destroy,
};
