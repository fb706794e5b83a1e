/* src/tool/main.c: the entry point of the gradflow program: parse the command line,
 * install the Ctrl-C handler, run the command. See docs/cli.md. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tool.h"

volatile sig_atomic_t gft_interrupted;
const char *gft_argv0 = "gradflow";

/* Ctrl-C: note it and let the current step finish; the loop then writes everything
 * recorded so far. A second Ctrl-C while that happens is ignored (it would otherwise
 * leave half-written files); SIGKILL remains for the impatient, and the streamed
 * telemetry survives even that (all of it but a last step cut in its write, which the
 * readers drop). */
static void on_sigint(int sig)
{
    (void)sig;
    gft_interrupted = 1;
}

/* The library's long loads (a big --data file read, inflated, parsed) ask this: Ctrl-C
 * stops them within milliseconds instead of after the whole file. */
static int interrupt_requested(void *user)
{
    (void)user;
    return gft_interrupted != 0;
}

static void install_handlers(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: a sleeping sweep wakes up to look at the flag */
    sigaction(SIGINT, &sa, NULL);
    gf_set_cancel_callback(interrupt_requested, NULL);
    /* A file size limit (ulimit -f) would kill the program silently with SIGXFSZ, half
     * way through a file: ignored, the write fails with EFBIG instead, which the library
     * reports (naming the file) and the run stops with exit 1, its files whole. */
    signal(SIGXFSZ, SIG_IGN);
}

/* --threads N, else GRADFLOW_THREADS (which the library reads itself; checked here so
 * that a typo is an error rather than a silent default). 0, or 2 after a message. */
static int set_threads(const gft_config *c)
{
    const char *env = getenv("GRADFLOW_THREADS");
    size_t n;
    if (c->threads > 0) {
        if (gf_set_threads(c->threads) != GF_OK) {
            gft_error("--threads: %s", gf_last_error());
            return 2;
        }
    } else if (env != NULL && gf_threads_parse(&n, env) != GF_OK) {
        gft_error("GRADFLOW_THREADS: %s", gf_last_error());
        return 2;
    }
    return 0;
}

int main(int argc, char **argv)
{
    static gft_args args; /* large: kept off the stack */
    int status;

    if (argc > 0 && argv[0] != NULL)
        gft_argv0 = argv[0];
    status = gft_parse(&args, argc, argv);
    if (status >= 0)
        return status;
    if (set_threads(&args.cfg) != 0)
        return 2;
    install_handlers();
    /* Every allocation the run plans is checked against it (gradflow/budget.h). */
    gf_set_memory_limit((size_t)args.cfg.max_memory);
    switch (args.cmd) {
    case GFT_CMD_RUN: status = gft_cmd_run(&args); break;
    case GFT_CMD_COMPARE: status = gft_cmd_compare(&args); break;
    case GFT_CMD_SWEEP: status = gft_cmd_sweep(&args); break;
    case GFT_CMD_MERGE: status = gft_cmd_merge(&args); break;
    case GFT_CMD_LIST: status = gft_cmd_list(&args); break;
    case GFT_CMD_GRADCHECK: status = gft_cmd_gradcheck(&args); break;
    case GFT_CMD_PAPER: status = gft_cmd_paper(&args); break;
    case GFT_CMD_SHOWCASE:
    default: status = gft_cmd_showcase(&args); break;
    }
    fflush(stdout);
    return status;
}
