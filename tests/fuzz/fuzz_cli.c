/* tests/fuzz/fuzz_cli.c: libFuzzer harness for the gradflow program's option parsing
 * (src/tool/options.c). The input is split at NUL bytes into up to 32 arguments after
 * argv[0]. Whatever is typed, gft_parse returns -1 (run), 0 (help, version) or 2 (usage
 * error, one line printed); when it accepts, the configuration of the first and of the
 * last grid point (comma lists of compare and sweep) must build or be refused cleanly. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tool.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_ARGS 32

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static gft_args args;
    static gft_config cfg;
    char *copy = malloc(size + 1);
    char *argv[MAX_ARGS + 2];
    size_t choice[GFT_MAX_SETTINGS];
    char label[512];
    int argc = 1, rc;

    if (copy == NULL)
        return 0;
    memcpy(copy, data, size);
    copy[size] = '\0';
    argv[0] = "gradflow";
    for (size_t i = 0; i <= size && argc <= MAX_ARGS;) {
        size_t n = strlen(copy + i);
        argv[argc++] = copy + i;
        i += n + 1;
    }
    argv[argc] = NULL;

    rc = gft_parse(&args, argc, argv);
    if (rc != -1 && rc != GFT_EXIT_OK && rc != GFT_EXIT_USAGE)
        abort();
    if (rc == -1) {
        if ((unsigned)args.cmd >= GFT_CMD_COUNT || args.n_set > GFT_MAX_SETTINGS ||
            args.n_operands > GFT_MAX_OPERANDS)
            abort();
        for (int last = 0; last < 2; last++) {
            for (size_t k = 0; k < args.n_set; k++) {
                size_t count = args.set[k].value ? gft_list_count(args.set[k].value) : 1;
                choice[k] = last && count > 0 ? count - 1 : 0;
            }
            rc = gft_config_build(&cfg, args.cmd, args.set, args.n_set, choice);
            if (rc != 0 && rc != GFT_EXIT_USAGE)
                abort();
            gft_point_label(label, sizeof label, args.set, args.n_set, choice, last);
            if (strlen(label) >= sizeof label)
                abort();
        }
    }
    free(copy);
    return 0;
}
