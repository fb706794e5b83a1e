/* tests/fuzz/fuzz_idx.c: libFuzzer harness for the IDX loader (gf_data_idx), which reads
 * an image file and a label file. Input: a u16 (little-endian) k, then the image file's k
 * bytes (fewer if the input is shorter), then the label file. Both are written to
 * temporary files (raw or gzip, detected by the loader). An accepted pair must be
 * consistent: n rows of pixels in [0, 1], labels below n_classes. */
#define _POSIX_C_SOURCE 200809L

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "gradflow.h"
#include "gradflow/data.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int write_temp(char *path, size_t len, const char *suffix, const uint8_t *p, size_t n)
{
    const char *dir = getenv("TMPDIR");
    FILE *f;
    snprintf(path, len, "%s/gf_fuzz_%ld%s", dir && *dir ? dir : "/tmp", (long)getpid(), suffix);
    f = fopen(path, "wb");
    if (f == NULL)
        return -1;
    fwrite(p, 1, n, f);
    fclose(f);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char images[256], labels[256];
    gf_dataset *d = NULL;
    size_t k;
    gf_status st;

    if (size < 2)
        return 0;
    k = (size_t)data[0] | (size_t)data[1] << 8;
    data += 2;
    size -= 2;
    if (k > size)
        k = size;
    if (write_temp(images, sizeof images, "-images", data, k) != 0 ||
        write_temp(labels, sizeof labels, "-labels", data + k, size - k) != 0)
        return 0;
    gf_clear_error();
    st = gf_data_idx(&d, images, labels);
    remove(images);
    remove(labels);
    if (st != GF_OK) {
        if (d != NULL || gf_last_error()[0] == '\0')
            abort();
        return 0;
    }
    if (d == NULL || d->x == NULL || d->y == NULL || d->x->rows == 0 ||
        d->y->rows != d->x->rows || d->y->cols != 1 || d->n_classes == 0)
        abort();
    for (size_t i = 0; i < gf_tensor_size(d->x); i++)
        if (!(d->x->data[i] >= 0 && d->x->data[i] <= 1))
            abort();
    for (size_t r = 0; r < d->y->rows; r++)
        if (!(d->y->data[r] >= 0 && (size_t)d->y->data[r] < d->n_classes))
            abort();
    gf_dataset_free(d);
    return 0;
}
