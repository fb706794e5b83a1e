/* src/tool/data.c: the data sets of a configuration: the embedded digits, the synthetic
 * sets, the adding problem (for recurrent nets), Fashion-MNIST and CSV files, split into
 * training and test sets, with the loss that goes with them (targets one-hot for MSE and
 * BCE on classes). */
#include <stdio.h>
#include <string.h>

#include "tool.h"

/* The data split's own stream, derived from --seed (train.c derives the batch order's). */
#define SEED_DATA 0x6461746100000000ull  /* "data" */

static int is_synthetic(const char *name)
{
    return strcmp(name, "gauss") == 0 || strcmp(name, "xor") == 0 ||
           strcmp(name, "spirals") == 0 || strcmp(name, "moons") == 0;
}

/* The adding problem (gf_data_adding) as a data set of n rows. */
static gf_status adding_problem(gf_dataset **out, size_t n, size_t T, gf_rng *rng)
{
    gf_dataset *d = NULL;
    gf_status st = gf_dataset_new(&d, n, 2 * T, 1, 0, "adding");
    if (st == GF_OK)
        st = gf_data_adding(d->x, d->y, T, rng);
    if (st != GF_OK) {
        gf_dataset_free(d);
        return st;
    }
    *out = d;
    return GF_OK;
}

/* Class indices (n, 1) -> one-hot rows (n, k), for MSE and BCE on a class set. */
static gf_status one_hot(gf_dataset **d)
{
    gf_dataset *src = *d, *dst = NULL;
    size_t n = gf_dataset_rows(src), k = src->n_classes;
    gf_status st = gf_dataset_new(&dst, n, src->x->cols, k, 0, src->name);
    if (st != GF_OK)
        return st;
    memcpy(dst->x->data, src->x->data, n * src->x->cols * sizeof(gf_real));
    for (size_t i = 0; i < n; i++)
        dst->y->data[i * k + (size_t)src->y->data[i]] = 1;
    /* gf_accuracy takes the argmax of one-hot rows: keep the class count for it. */
    dst->n_classes = k;
    gf_dataset_free(src);
    *d = dst;
    return GF_OK;
}

/* The number of distinct labels of a class set (up to 2: all the caller asks). */
static size_t classes_present(const gf_dataset *d)
{
    size_t n = gf_dataset_rows(d);
    for (size_t i = 1; i < n; i++)
        if (d->y->data[i] != d->y->data[0])
            return 2;
    return n > 0;
}

int gft_data_shape(const gft_config *c, size_t *in, size_t *out, size_t *rows)
{
    if (strcmp(c->data, "digits") == 0) {
        *in = 64, *out = 10, *rows = 1797;
    } else if (strcmp(c->data, "gauss") == 0) {
        *in = *out = c->width, *rows = c->samples;
    } else if (is_synthetic(c->data)) {
        *in = *out = 2, *rows = c->samples;
    } else if (strcmp(c->data, "adding") == 0) {
        *in = 2 * gft_adding_steps(c), *out = 1, *rows = c->samples;
    } else if (strcmp(c->data, "fashion-mnist") == 0) {
        *in = 784, *out = 10, *rows = 70000;
    } else {
        return -1;
    }
    return 0;
}

/* Load the set --data names: a whole set into *all, or (Fashion-MNIST) its own training
 * and test sets into *train and *test. */
static int load_named(const gft_config *c, gf_dataset **all, gf_dataset **train,
                      gf_dataset **test, gf_rng *rng)
{
    gf_status st;
    if (strcmp(c->data, "digits") == 0) {
        st = gf_data_digits(all);
    } else if (is_synthetic(c->data)) {
        int gauss = strcmp(c->data, "gauss") == 0;
        st = gf_data_synthetic(all, c->data, c->samples, gauss ? c->width : 0,
                               gauss ? c->width : 0, rng);
    } else if (strcmp(c->data, "adding") == 0) {
        st = adding_problem(all, c->samples, gft_adding_steps(c), rng);
    } else if (strcmp(c->data, "fashion-mnist") == 0) {
        st = gf_data_fashion_mnist(train, test, NULL);
        if (st != GF_OK && st != GF_ECANCELED) {
            gft_error("--data fashion-mnist: %s (install Debian's dataset-fashion-mnist, or "
                      "set %s to the directory of its IDX files)", gf_last_error(),
                      GF_FASHION_MNIST_ENV);
            return GFT_EXIT_FAIL;
        }
    } else {
        gf_csv_options o = gf_csv_options_default();
        o.label_column = c->label_column > 0 ? c->label_column - 1 : -1;
        o.header = c->header;
        o.regression = c->loss_given && c->loss == GF_LOSS_MSE;
        st = gf_data_csv(all, c->data, &o);
    }
    if (st == GF_ECANCELED) { /* Ctrl-C while a file was read: nothing run yet */
        gft_error("interrupted while loading --data %s: %s", c->data, gf_last_error());
        return GFT_EXIT_INTERRUPTED;
    }
    if (st != GF_OK) {
        gft_error("--data %s: %s", c->data, gf_last_error());
        return GFT_EXIT_FAIL;
    }
    if (*all != NULL && (*all)->n_classes > 0 && classes_present(*all) < 2) {
        /* Nothing to tell apart: the loss is 0 from the first step and every gradient
         * vanishes, so the run would only end in figures with nothing to draw. */
        gft_error("--data %s: every row has the label %g: a classifier needs at least two "
                  "classes (is --label-column right?)", c->data,
                  gf_dataset_rows(*all) ? (double)(*all)->y->data[0] : 0.0);
        gf_dataset_free(*all);
        *all = NULL;
        return GFT_EXIT_FAIL;
    }
    return 0;
}

/* The loss the data call for (unless --loss says), checked against the targets, and the
 * class labels one-hot when that loss wants vectors. */
static int fit_loss(const gft_config *c, gf_dataset **train, gf_dataset **test,
                    gf_loss_kind *loss)
{
    gf_status st = GF_OK;
    *loss = c->loss_given ? c->loss
                          : (*train)->n_classes > 0 ? GF_LOSS_SOFTMAX_CE : GF_LOSS_MSE;
    if ((*train)->n_classes == 0 && *loss == GF_LOSS_SOFTMAX_CE) {
        gft_error("--loss cross_entropy: the data set '%s' has real targets, not classes "
                  "(use --loss mse)", c->data);
        return GFT_EXIT_USAGE;
    }
    if ((*train)->n_classes > 0 && *loss != GF_LOSS_SOFTMAX_CE) {
        st = one_hot(train);
        if (st == GF_OK)
            st = one_hot(test);
        if (st != GF_OK) {
            gft_error("%s", gf_last_error());
            return GFT_EXIT_FAIL;
        }
    }
    return 0;
}

int gft_load_data(const gft_config *c, gf_dataset **train, gf_dataset **test,
                  gf_loss_kind *loss)
{
    gf_dataset *all = NULL;
    gf_rng rng;
    gf_status st;
    size_t in, out, rows;
    int rc;

    *train = *test = NULL;
    gf_rng_seed(&rng, c->seed ^ SEED_DATA);
    if (gft_data_shape(c, &in, &out, &rows) == 0) {
        /* A generated set and its split into training and test sets, side by side for a
         * moment: refused before a byte of it is made when that is beyond the limit. */
        double bytes = 2.0 * (double)rows * (double)(in + out) * sizeof(gf_real);
        if (gf_memory_check(bytes >= (double)SIZE_MAX ? SIZE_MAX : (size_t)bytes,
                            "the data") != GF_OK) {
            gft_error("--data %s: %s (--samples, --seq-len, or raise --max-memory)", c->data,
                      gf_last_error());
            return GFT_EXIT_USAGE;
        }
    }
    if ((rc = load_named(c, &all, train, test, &rng)) != 0)
        return rc;
    if (all != NULL) {
        st = gf_data_split(train, test, all, c->test_fraction, &rng);
        gf_dataset_free(all);
        if (st != GF_OK) {
            gft_error("--data %s: %s", c->data, gf_last_error());
            return GFT_EXIT_FAIL;
        }
    }
    if (*train == NULL || *test == NULL) { /* a loader's contract; never trust it blindly */
        gft_error("--data %s: the loader returned no data", c->data);
        rc = GFT_EXIT_FAIL;
    } else {
        rc = fit_loss(c, train, test, loss);
    }
    if (rc != 0) {
        gf_dataset_free(*train), gf_dataset_free(*test);
        *train = *test = NULL;
    }
    return rc;
}
