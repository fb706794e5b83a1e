/* tests/fuzz/fuzz_csv.c: libFuzzer harness for the CSV loader (gf_data_csv). The first
 * two bytes choose the options (label column, header mode, regression, delimiter); the
 * rest is the file, written to a temporary file since the loader reads paths (gzip
 * included: content starting 1f 8b takes the zlib path when built with it). An accepted
 * table must be consistent: x and y of the same rows, finite, labels below n_classes. */
#define _POSIX_C_SOURCE 200809L

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "gradflow.h"
#include "gradflow/data.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *temp_path(const char *suffix)
{
    static char path[256];
    const char *dir = getenv("TMPDIR");
    snprintf(path, sizeof path, "%s/gf_fuzz_%ld%s", dir && *dir ? dir : "/tmp", (long)getpid(),
             suffix);
    return path;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char delims[4] = {',', ';', '\t', ' '};
    gf_csv_options opt = gf_csv_options_default();
    gf_dataset *d = (gf_dataset *)&opt;
    const char *path;
    FILE *f;
    gf_status st;

    if (size < 2)
        return 0;
    opt.label_column = (long)(data[0] % 4) - 1;
    opt.header = (int)((data[0] >> 2) % 3) - 1;
    opt.regression = (data[0] >> 4) & 1;
    opt.delimiter = delims[data[1] % 4];
    path = temp_path(".csv");
    f = fopen(path, "wb");
    if (f == NULL)
        return 0;
    fwrite(data + 2, 1, size - 2, f);
    fclose(f);

    gf_clear_error();
    st = gf_data_csv(&d, path, &opt);
    remove(path);
    if (st != GF_OK) {
        if (d != NULL || gf_last_error()[0] == '\0')
            abort();
        return 0;
    }
    if (d == NULL || d->x == NULL || d->y == NULL || d->x->rows == 0 ||
        d->x->rows != d->y->rows || gf_tensor_count_nonfinite(d->x) != 0 ||
        gf_tensor_count_nonfinite(d->y) != 0)
        abort();
    if (d->n_classes > 0) {
        if (d->y->cols != 1)
            abort();
        for (size_t r = 0; r < d->y->rows; r++)
            if (!(d->y->data[r] >= 0 && (size_t)d->y->data[r] < d->n_classes))
                abort();
    }
    gf_dataset_free(d);
    return 0;
}
