/* tests/fuzz/fuzz_run.c: libFuzzer harness running `gradflow run` end to end on tiny
 * inputs: data loading, building, training, the streamed telemetry, the run directory,
 * the verdict, --save and --resume. The first 5 bytes choose the options from small
 * tables (so that each input runs in milliseconds: at most 3 steps, depth 4, width 8,
 * 32 samples); the rest, when byte 0 says so, is a CSV file given as --data. The run
 * goes to a fresh temporary directory, removed afterwards. Whatever the input, the exit
 * status is one the program documents, and a run that succeeds leaves a telemetry.csv
 * that gf_run_read_telemetry reads back and a summary.json; a saved model resumes. */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tool.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What main.c defines for the program. */
volatile sig_atomic_t gft_interrupted;
const char *gft_argv0 = "gradflow";

#define MAX_CSV 4096

static const char *const data_sets[] = {"xor", "spirals", "moons", "gauss", "adding"};
static const char *const acts[] = {"relu", "tanh", "sigmoid", "leaky_relu", "elu",
                                   "softplus", "identity", "abs"};
static const char *const inits[] = {NULL, "he", "xavier", "normal:0.5", "uniform:2",
                                    "lsuv", "zeros", "normal:1e30"};
static const char *const norms[] = {"none", "batch", "layer"};
static const char *const optims[] = {"sgd", "momentum", "adam"};
static const char *const cells[] = {"rnn", "lstm", "gru"};
static const char *const lrs[] = {"0.01", "1", "30", "1e-4"};

#define PICK(table, byte) (table)[(byte) % (sizeof(table) / sizeof((table)[0]))]

/* Remove the files of dir, then dir (a run directory holds no subdirectory). */
static void remove_dir(const char *dir)
{
    char path[600];
    struct dirent *e;
    DIR *d = opendir(dir);
    if (d != NULL) {
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            remove(path);
        }
        closedir(d);
    }
    rmdir(dir);
}

/* gft_parse then gft_cmd_run, as main does; the exit status. */
static int run_cli(int argc, char **argv)
{
    static gft_args args; /* large: kept off the stack */
    int rc = gft_parse(&args, argc, argv);
    if (rc >= 0)
        return rc;
    if (args.cmd != GFT_CMD_RUN)
        abort();
    return gft_cmd_run(&args);
}

static int documented(int rc)
{
    return rc == GFT_EXIT_OK || rc == GFT_EXIT_FAIL || rc == GFT_EXIT_USAGE ||
           rc == GFT_EXIT_NONFINITE;
}

/* A finished run: its telemetry reads back and it has a summary. */
static void check_run_dir(const char *out)
{
    char path[600];
    gf_telemetry *t = NULL;
    snprintf(path, sizeof path, "%s/telemetry.csv", out);
    if (gf_telemetry_new(&t) != GF_OK)
        return;
    if (gf_run_read_telemetry(t, path) != GF_OK)
        abort();
    gf_telemetry_free(t);
    snprintf(path, sizeof path, "%s/summary.json", out);
    if (access(path, R_OK) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char tmpl[300], out[400], csv[400], model[400], steps[8], more[8], depth[8], width[8];
    char batch[8], every[8], seq[8];
    const char *dir = getenv("TMPDIR");
    char *argv[64];
    int argc = 0, rc;
    uint8_t b[5] = {0};

    if (size < 5 || size > 5 + MAX_CSV)
        return 0;
    memcpy(b, data, 5);
    snprintf(tmpl, sizeof tmpl, "%s/gf_fuzz_run_XXXXXX", dir && *dir ? dir : "/tmp");
    if (mkdtemp(tmpl) == NULL)
        return 0;
    snprintf(out, sizeof out, "%s/out", tmpl);
    snprintf(csv, sizeof csv, "%s/data.csv", tmpl);
    snprintf(model, sizeof model, "%s/model.gfm", tmpl);
    snprintf(steps, sizeof steps, "%d", 1 + b[2] % 3);
    snprintf(more, sizeof more, "%d", 2 + b[2] % 3);
    snprintf(depth, sizeof depth, "%d", 1 + (b[2] >> 2) % 4);
    snprintf(width, sizeof width, "%d", 1 + (b[2] >> 4) % 8);
    snprintf(batch, sizeof batch, "%d", 1 + b[4] % 8);
    snprintf(every, sizeof every, "%d", 1 + (b[4] >> 3) % 2);
    snprintf(seq, sizeof seq, "%d", 2 + (b[3] >> 6) % 3);

    argv[argc++] = "gradflow";
    argv[argc++] = "run";
    argv[argc++] = "--data";
    if (b[0] & 0x80) { /* the rest of the input is a CSV file */
        FILE *f = fopen(csv, "wb");
        if (f == NULL) {
            remove_dir(tmpl);
            return 0;
        }
        fwrite(data + 5, 1, size - 5, f);
        fclose(f);
        argv[argc++] = csv;
        if (b[0] & 0x40)
            argv[argc++] = "--header";
    } else {
        const char *set = PICK(data_sets, b[0]);
        argv[argc++] = (char *)set;
        argv[argc++] = "--samples";
        argv[argc++] = "32";
        if (strcmp(set, "adding") == 0) {
            argv[argc++] = "--cell";
            argv[argc++] = (char *)PICK(cells, b[1]);
            argv[argc++] = "--hidden";
            argv[argc++] = width;
            argv[argc++] = "--seq-len";
            argv[argc++] = seq;
        }
    }
    if (strcmp(argv[3], "adding") != 0) {
        argv[argc++] = "--act";
        argv[argc++] = (char *)PICK(acts, b[1]);
        argv[argc++] = "--depth";
        argv[argc++] = depth;
        argv[argc++] = "--width";
        argv[argc++] = width;
        argv[argc++] = "--norm";
        argv[argc++] = (char *)PICK(norms, b[3]);
        if (b[3] & 0x04) {
            argv[argc++] = "--residual";
            argv[argc++] = "2";
        }
    }
    if (PICK(inits, b[1] >> 3) != NULL) {
        argv[argc++] = "--init";
        argv[argc++] = (char *)PICK(inits, b[1] >> 3);
    }
    argv[argc++] = "--optim";
    argv[argc++] = (char *)PICK(optims, b[3] >> 3);
    argv[argc++] = "--lr";
    argv[argc++] = (char *)PICK(lrs, b[3] >> 5);
    if (b[4] & 0x20) {
        argv[argc++] = "--clip-norm";
        argv[argc++] = "1";
    }
    if (b[4] & 0x40)
        argv[argc++] = "--skip-nonfinite";
    argv[argc++] = "--batch";
    argv[argc++] = batch;
    argv[argc++] = "--every";
    argv[argc++] = every;
    argv[argc++] = "--steps";
    argv[argc++] = steps;
    argv[argc++] = "--plot";
    argv[argc++] = "none";
    argv[argc++] = "--quiet";
    argv[argc++] = "--out";
    argv[argc++] = out;
    if (b[4] & 0x80) {
        argv[argc++] = "--save";
        argv[argc++] = model;
    }
    argv[argc] = NULL;

    rc = run_cli(argc, argv);
    if (!documented(rc))
        abort();
    if (rc == GFT_EXIT_OK)
        check_run_dir(out);
    /* A saved model resumes for one more step, into the same directory. */
    if (rc == GFT_EXIT_OK && (b[4] & 0x80) && access(model, R_OK) == 0) {
        char *again[] = {"gradflow", "run", "--data", argv[3], "--resume", model,
                         "--steps", more, "--plot", "none", "--quiet", "--out", out,
                         strcmp(argv[3], csv) == 0 ? NULL : "--samples", "32", NULL};
        int n = 0;
        while (again[n] != NULL)
            n++;
        rc = run_cli(n, again);
        if (!documented(rc))
            abort();
        if (rc == GFT_EXIT_OK)
            check_run_dir(out);
    }
    remove_dir(out);
    remove_dir(tmpl);
    return 0;
}
