/* src/tool/cmd_sweep.c: `gradflow sweep`: every combination of the options given as comma
 * lists, each run as a separate `gradflow run` process (--jobs at a time), then merged
 * (cmd_merge.c); or, with --emit-commands, only their command lines. */
#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tool.h"

extern char **environ;

/* The path of this program, for the child processes: /proc/self/exe where there is
 * one, else argv[0] looked up on PATH by posix_spawnp. */
static void self_path(char *buf, size_t len, int *use_path)
{
    ssize_t n = readlink("/proc/self/exe", buf, len - 1);
    *use_path = 0;
    if (n > 0) {
        buf[n] = '\0';
        return;
    }
    snprintf(buf, len, "%s", gft_argv0);
    *use_path = strchr(buf, '/') == NULL;
}

/* Quote for a POSIX shell when needed. */
static void print_word(const char *w)
{
    int plain = *w != '\0';
    for (const char *p = w; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              strchr("-_=./:,+@%", *p)))
            plain = 0;
    if (plain) {
        fputs(w, stdout);
        return;
    }
    putchar('\'');
    for (const char *p = w; *p; p++) {
        if (*p == '\'')
            fputs("'\\''", stdout);
        else
            putchar(*p);
    }
    putchar('\'');
}

typedef struct child_argv {
    char *argv[2 * GFT_MAX_SETTINGS + 12];
    char seed[32];
    char items[GFT_MAX_SETTINGS][1024];
    char flags[GFT_MAX_SETTINGS][80];
    char dir[1400];
    char label[1024];
} child_argv;

/* The command line of grid point `choice`: gradflow run <its settings> --out DIR/<label>
 * --quiet. Options of the sweep itself (--out, --jobs, --emit-commands, --quiet) are
 * not passed on. With --seeds N, seed k of the point (0 <= k < N) is a run of its own,
 * --seed S = --seed + k, labelled "<label> seed=S" into DIR/<label>/seed-S, as compare
 * lays out its seeds: the children run side by side and merge groups them. */
static void make_child(child_argv *ca, const gft_args *a, const size_t *choice,
                       const char *self, const char *dir, size_t k_seed)
{
    size_t argc = 0;
    char sub[1024];
    int seeds = a->cfg.seeds > 1;
    ca->argv[argc++] = (char *)self;
    ca->argv[argc++] = (char *)"run";
    for (size_t k = 0; k < a->n_set; k++) {
        const gft_option *o = a->set[k].opt;
        if (!(o->commands & (1u << GFT_CMD_RUN)) || strcmp(o->name, "out") == 0 ||
            strcmp(o->name, "quiet") == 0 || strcmp(o->name, "seeds") == 0 ||
            (seeds && strcmp(o->name, "seed") == 0))
            continue;
        snprintf(ca->flags[k], sizeof ca->flags[k], "--%s", o->name);
        ca->argv[argc++] = ca->flags[k];
        if (a->set[k].value == NULL)
            continue;
        if (o->listable)
            gft_list_item(a->set[k].value, choice[k], ca->items[k], sizeof ca->items[k]);
        else
            snprintf(ca->items[k], sizeof ca->items[k], "%s", a->set[k].value);
        ca->argv[argc++] = ca->items[k];
    }
    gft_point_label(ca->label, sizeof ca->label, a->set, a->n_set, choice, 1);
    if (ca->label[0] == '\0')
        snprintf(ca->label, sizeof ca->label, "run");
    gft_dir_name(sub, sizeof sub, ca->label);
    snprintf(ca->dir, sizeof ca->dir, "%s/%s", dir, sub);
    if (seeds) {
        unsigned long long s = (unsigned long long)a->cfg.seed + k_seed;
        size_t used = strlen(ca->label), d = strlen(ca->dir);
        snprintf(ca->seed, sizeof ca->seed, "%llu", s);
        snprintf(ca->label + used, sizeof ca->label - used, " seed=%llu", s);
        snprintf(ca->dir + d, sizeof ca->dir - d, "/seed-%llu", s);
        ca->argv[argc++] = (char *)"--seed";
        ca->argv[argc++] = ca->seed;
    }
    ca->argv[argc++] = (char *)"--name";
    ca->argv[argc++] = ca->label;
    ca->argv[argc++] = (char *)"--out";
    ca->argv[argc++] = ca->dir;
    ca->argv[argc++] = (char *)"--quiet";
    ca->argv[argc] = NULL;
}

/* Advance an odometer over the lists; 0 when it wrapped around (all points done). */
static int next_point(size_t *choice, const size_t *count, size_t n)
{
    for (size_t k = n; k-- > 0;) {
        if (++choice[k] < count[k])
            return 1;
        choice[k] = 0;
    }
    return 0;
}

/* A child process running, or pid 0 for a free slot. */
typedef struct slot {
    pid_t pid;
    char label[1024];
} slot;

/* A sweep in progress: the grid, its odometer, the slots of --jobs children. */
typedef struct sweep {
    const gft_args *a;
    const char *dir;
    char self[4096];               /* this program, for the children */
    int use_path;                  /* self is looked up on PATH */
    size_t count[GFT_MAX_SETTINGS]; /* values of each setting (1 when not a list) */
    size_t choice[GFT_MAX_SETTINGS];
    size_t k_seed;                 /* the seed of the point launched next (--seeds) */
    size_t total, finished, failed;
    slot *run;                     /* (jobs) */
    unsigned jobs, n_running;
    int more;                      /* grid points left to launch */
    int status, interrupted;
    child_argv ca;
} sweep;

/* Every configuration is checked before anything runs or is printed: a bad combination
 * is one usage error, not a failed child per grid point. */
static int check_grid(sweep *sw)
{
    do {
        static gft_config scratch;
        if (gft_config_build(&scratch, sw->a->cmd, sw->a->set, sw->a->n_set, sw->choice) != 0)
            return GFT_EXIT_USAGE;
    } while (next_point(sw->choice, sw->count, sw->a->n_set));
    return 0;
}

/* The next run: the point's next seed, else the next point with its first seed; 0 when
 * every run has been made. */
static int next_run(sweep *sw)
{
    if (++sw->k_seed < sw->a->cfg.seeds)
        return 1;
    sw->k_seed = 0;
    return next_point(sw->choice, sw->count, sw->a->n_set);
}

/* --emit-commands: one command line per grid point (and seed), quoted for a shell. */
static void emit_commands(sweep *sw)
{
    do {
        make_child(&sw->ca, sw->a, sw->choice, sw->self, sw->dir, sw->k_seed);
        for (size_t i = 0; sw->ca.argv[i] != NULL; i++) {
            if (i)
                putchar(' ');
            print_word(sw->ca.argv[i]);
        }
        putchar('\n');
    } while (next_run(sw));
}

/* Launch children while there are free slots and configurations left. */
static void launch(sweep *sw)
{
    while (sw->more && sw->n_running < sw->jobs && !gft_interrupted) {
        pid_t pid;
        int err;
        make_child(&sw->ca, sw->a, sw->choice, sw->self, sw->dir, sw->k_seed);
        err = sw->use_path ? posix_spawnp(&pid, sw->self, NULL, NULL, sw->ca.argv, environ)
                           : posix_spawn(&pid, sw->self, NULL, NULL, sw->ca.argv, environ);
        sw->more = next_run(sw);
        if (err != 0) {
            gft_error("sweep: cannot start %s: %s", sw->self, strerror(err));
            sw->failed++;
            sw->status = gft_worse(sw->status, GFT_EXIT_FAIL);
            continue;
        }
        for (unsigned s = 0; s < sw->jobs; s++)
            if (sw->run[s].pid == 0) {
                sw->run[s].pid = pid;
                snprintf(sw->run[s].label, sizeof sw->run[s].label, "%s", sw->ca.label);
                break;
            }
        sw->n_running++;
    }
}

/* Ctrl-C reaches the children from the terminal; a SIGINT sent to this process alone is
 * passed on, so every child stops after its current step. */
static void pass_on_interrupt(sweep *sw)
{
    if (!gft_interrupted || sw->interrupted)
        return;
    sw->interrupted = 1;
    sw->more = 0;
    for (unsigned s = 0; s < sw->jobs; s++)
        if (sw->run[s].pid > 0)
            kill(sw->run[s].pid, SIGINT);
}

/* Child pid ended with wait status ws: count it, say a failure, free its slot. */
static void child_ended(sweep *sw, pid_t pid, int ws)
{
    for (unsigned s = 0; s < sw->jobs; s++) {
        int code;
        if (sw->run[s].pid != pid)
            continue;
        code = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
        sw->finished++;
        if (code != 0) {
            if (code != GFT_EXIT_INTERRUPTED)
                sw->failed++;
            if (code != GFT_EXIT_INTERRUPTED || !sw->interrupted)
                fprintf(stderr, "gradflow: sweep: %s: exit status %d\n", sw->run[s].label,
                        code);
            sw->status = gft_worse(sw->status, code == GFT_EXIT_NONFINITE ? GFT_EXIT_NONFINITE
                                               : code == GFT_EXIT_INTERRUPTED
                                                   ? GFT_EXIT_INTERRUPTED
                                                   : GFT_EXIT_FAIL);
        }
        sw->run[s].pid = 0;
        sw->n_running--;
        if (!sw->a->cfg.quiet && !sw->interrupted)
            printf("sweep: %zu/%zu done (%s)\n", sw->finished, sw->total, sw->run[s].label);
        fflush(stdout);
        break;
    }
}

/* Launch and reap children until the grid is done (or Ctrl-C and every child ended). */
static void run_grid(sweep *sw)
{
    for (sw->more = 1; sw->more || sw->n_running > 0;) {
        int ws;
        pid_t pid;
        launch(sw);
        pass_on_interrupt(sw);
        if (sw->n_running == 0)
            break;
        /* Poll rather than block: a SIGINT that lands just before a blocking wait
         * would otherwise not be passed on until a child ends by itself. */
        pid = waitpid(-1, &ws, WNOHANG);
        if (pid == 0) {
            struct timespec ts = {0, 20 * 1000 * 1000};
            nanosleep(&ts, NULL);
            continue;
        }
        if (pid < 0) {
            if (errno == EINTR)
                continue;
            gft_error("sweep: waitpid: %s", strerror(errno));
            sw->status = gft_worse(sw->status, GFT_EXIT_FAIL);
            break;
        }
        child_ended(sw, pid, ws);
    }
}

/* The grid run into sw->dir, then merged there. Returns the exit status. */
static int run_and_merge(sweep *sw)
{
    const gft_config *c = &sw->a->cfg;
    const char *dirs[1];
    gf_run_lock *lock = NULL;
    int m;
    sw->run = gf_calloc(sw->jobs, sizeof *sw->run);
    if (sw->run == NULL) {
        gft_error("out of memory");
        return GFT_EXIT_FAIL;
    }
    /* Two sweeps into one --out would merge each other's runs: the second stops here
     * (each run locks its own DIR/<label> besides). */
    if (gft_lock_dir(&lock, sw->dir) != 0)
        return GFT_EXIT_FAIL;
    if (!c->quiet)
        printf("sweep: %zu %s, %u at a time, into %s\n", sw->total,
               sw->a->cfg.seeds > 1 ? "runs (configurations x seeds)" : "configurations",
               sw->jobs, sw->dir);
    fflush(stdout); /* children share stdout: nothing buffered may be written twice */
    run_grid(sw);
    if (sw->interrupted)
        sw->status = GFT_EXIT_INTERRUPTED;
    if (!c->quiet || sw->interrupted)
        fprintf(sw->interrupted ? stderr : stdout, "%ssweep: %zu of %zu configurations run, "
                "%zu failed\n", sw->interrupted ? "gradflow: interrupted: " : "", sw->finished,
                sw->total, sw->failed);
    dirs[0] = sw->dir;
    m = gft_merge_dirs(dirs, 1, sw->dir, c);
    gf_run_lock_release(lock);
    /* A run that failed already set the status; merging adds only its own failure. */
    return sw->status == 0 ? m : sw->status;
}

int gft_cmd_sweep(gft_args *a)
{
    sweep *sw = gf_calloc(1, sizeof *sw);
    int status;

    if (sw == NULL) {
        gft_error("out of memory");
        return GFT_EXIT_FAIL;
    }
    sw->a = a;
    sw->dir = gft_out_dir(&a->cfg, "gradflow-out/sweep");
    sw->jobs = (unsigned)a->cfg.jobs; /* at most 1024 */
    sw->total = 1;
    for (size_t k = 0; k < a->n_set; k++) {
        sw->count[k] = a->set[k].value && a->set[k].opt->listable
                           ? gft_list_count(a->set[k].value) : 1;
        sw->total *= sw->count[k];
    }
    sw->total *= a->cfg.seeds; /* --seeds N: N runs per point */
    self_path(sw->self, sizeof sw->self, &sw->use_path);
    status = check_grid(sw);
    if (status == 0 && a->cfg.emit_commands)
        emit_commands(sw);
    else if (status == 0)
        status = run_and_merge(sw);
    gf_free(sw->run);
    gf_free(sw);
    return status;
}
