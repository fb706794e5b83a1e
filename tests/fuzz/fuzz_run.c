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

/* The paths and option values of one input (argv points into it). */
typedef struct run_input {
    uint8_t b[5];
    char tmp[300], out[400], csv[400], model[400];
    char steps[8], more[8], depth[8], width[8], batch[8], every[8], seq[8];
    int csv_data;
} run_input;

/* The data options: a synthetic set (the adding problem with a recurrent cell), or the
 * CSV file. Returns the new argc. */
static int data_args(char **argv, int argc, run_input *in)
{
    const uint8_t *b = in->b;
    argv[argc++] = "--data";
    if (in->csv_data) {
        argv[argc++] = in->csv;
        if (b[0] & 0x40)
            argv[argc++] = "--header";
        return argc;
    }
    argv[argc++] = (char *)PICK(data_sets, b[0]);
    argv[argc++] = "--samples";
    argv[argc++] = "32";
    if (strcmp(argv[argc - 3], "adding") == 0) {
        argv[argc++] = "--cell";
        argv[argc++] = (char *)PICK(cells, b[1]);
        argv[argc++] = "--hidden";
        argv[argc++] = in->width;
        argv[argc++] = "--seq-len";
        argv[argc++] = in->seq;
    }
    return argc;
}

/* The whole command line of the first run; returns argc. */
static int run_args(char **argv, run_input *in)
{
    const uint8_t *b = in->b;
    int argc = 0, recurrent;
    argv[argc++] = "gradflow";
    argv[argc++] = "run";
    argc = data_args(argv, argc, in);
    recurrent = !in->csv_data && strcmp(PICK(data_sets, b[0]), "adding") == 0;
    if (!recurrent) {
        argv[argc++] = "--act";
        argv[argc++] = (char *)PICK(acts, b[1]);
        argv[argc++] = "--depth";
        argv[argc++] = in->depth;
        argv[argc++] = "--width";
        argv[argc++] = in->width;
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
    char *tail[] = {"--batch", in->batch, "--every", in->every, "--steps", in->steps,
                    "--plot", "none", "--quiet", "--out", in->out};
    for (size_t k = 0; k < sizeof tail / sizeof tail[0]; k++)
        argv[argc++] = tail[k];
    if (b[4] & 0x80) {
        argv[argc++] = "--save";
        argv[argc++] = in->model;
    }
    argv[argc] = NULL;
    return argc;
}

/* A saved model resumes for one more step, on the same data, into the same directory
 * (the network options of the data, --cell and --hidden, are ignored with a note). */
static void resume(run_input *in)
{
    char *again[32] = {"gradflow", "run"};
    int n = data_args(again, 2, in), rc;
    char *tail[] = {"--resume", in->model, "--steps", in->more, "--plot", "none",
                    "--quiet", "--out", in->out};
    for (size_t k = 0; k < sizeof tail / sizeof tail[0]; k++)
        again[n++] = tail[k];
    again[n] = NULL;
    rc = run_cli(n, again);
    if (!documented(rc))
        abort();
    if (rc == GFT_EXIT_OK)
        check_run_dir(in->out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static run_input in;
    const char *dir = getenv("TMPDIR");
    char *argv[64];
    int argc, rc;

    if (size < 5 || size > 5 + MAX_CSV)
        return 0;
    memset(&in, 0, sizeof in);
    memcpy(in.b, data, 5);
    snprintf(in.tmp, sizeof in.tmp, "%s/gf_fuzz_run_XXXXXX", dir && *dir ? dir : "/tmp");
    if (mkdtemp(in.tmp) == NULL)
        return 0;
    snprintf(in.out, sizeof in.out, "%s/out", in.tmp);
    snprintf(in.csv, sizeof in.csv, "%s/data.csv", in.tmp);
    snprintf(in.model, sizeof in.model, "%s/model.gfm", in.tmp);
    snprintf(in.steps, sizeof in.steps, "%d", 1 + in.b[2] % 3);
    snprintf(in.more, sizeof in.more, "%d", 2 + in.b[2] % 3);
    snprintf(in.depth, sizeof in.depth, "%d", 1 + (in.b[2] >> 2) % 4);
    snprintf(in.width, sizeof in.width, "%d", 1 + (in.b[2] >> 4) % 8);
    snprintf(in.batch, sizeof in.batch, "%d", 1 + in.b[4] % 8);
    snprintf(in.every, sizeof in.every, "%d", 1 + (in.b[4] >> 3) % 2);
    snprintf(in.seq, sizeof in.seq, "%d", 2 + (in.b[3] >> 6) % 3);
    in.csv_data = (in.b[0] & 0x80) != 0;
    if (in.csv_data) { /* the rest of the input is a CSV file */
        FILE *f = fopen(in.csv, "wb");
        if (f == NULL) {
            remove_dir(in.tmp);
            return 0;
        }
        fwrite(data + 5, 1, size - 5, f);
        fclose(f);
    }
    argc = run_args(argv, &in);
    rc = run_cli(argc, argv);
    if (!documented(rc))
        abort();
    if (rc == GFT_EXIT_OK)
        check_run_dir(in.out);
    if (rc == GFT_EXIT_OK && (in.b[4] & 0x80) && access(in.model, R_OK) == 0)
        resume(&in);
    remove_dir(in.out);
    remove_dir(in.tmp);
    return 0;
}
