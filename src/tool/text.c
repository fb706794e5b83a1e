/* src/tool/text.c: how the program names and describes things: a run's directory name
 * from its label, the init and the network of a configuration in words, a number for
 * people (NaN and infinities as words), paths inside a run directory, and the order of
 * labels (numbers as numbers). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tool.h"

/* A directory name from a label: letters, digits and . _ = - kept, the rest '_'. */
void gft_dir_name(char *buf, size_t len, const char *label)
{
    size_t i = 0;
    for (; label[i] && i + 1 < len; i++) {
        char ch = label[i];
        int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                 (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '=' || ch == '-';
        buf[i] = ok ? ch : ch == ',' ? '_' : '-';
    }
    buf[i] = '\0';
}

const char *gft_out_dir(const gft_config *c, const char *fallback)
{
    return c->out[0] ? c->out : fallback;
}

/* The init a configuration uses, for tables: the given scheme or the suited one. */
const char *gft_init_label(const gft_config *c)
{
    const gf_activation *act;
    if (c->init_given)
        return c->init_text;
    if (c->cell >= 0)
        return "uniform"; /* gf_rnn_init's default, U(-1/sqrt(H), 1/sqrt(H)) */
    double param;
    if (gft_find_act(c, &act, &param) == 0)
        return act->suited_init;
    return "suited";
}

/* A figure for people: NaN and infinities as words, not "-nan". */
const char *gft_num(char *buf, size_t len, double v)
{
    if (isnan(v))
        snprintf(buf, len, "NaN");
    else if (isinf(v))
        snprintf(buf, len, "%sinf", v < 0 ? "-" : "");
    else
        snprintf(buf, len, "%.4g", v);
    return buf;
}

/* The network of a configuration in words: "relu, init he, 12 linear layers of width 64
 * (an input layer, 5 residual blocks of 2, an output layer), batch norm". */
void gft_describe_net(char *buf, size_t len, const gft_config *c)
{
    size_t n;
    if (c->cell >= 0) {
        char steps[64];
        if (strcmp(c->data, "adding") == 0)
            snprintf(steps, sizeof steps, "%zu steps", gft_adding_steps(c));
        else if (c->seq_len)
            snprintf(steps, sizeof steps, "%zu steps", c->seq_len);
        else
            snprintf(steps, sizeof steps, "one input column per step");
        snprintf(buf, len, "%s of %zu hidden units over %s, then a linear output layer, init "
                 "%s", gf_rnn_cell_name((gf_rnn_cell)c->cell), c->hidden, steps,
                 gft_init_label(c));
        return;
    }
    n = (size_t)snprintf(buf, len, "%s, init %s, %zu linear layers of width %zu", c->act,
                         gft_init_label(c), c->depth, c->width);
    if (n < len && c->residual)
        n += (size_t)snprintf(buf + n, len - n, " (an input layer, %zu residual blocks of %zu, "
                              "an output layer)", (c->depth - 2) / c->residual, c->residual);
    if (n < len && c->norm != GFT_NORM_NONE)
        snprintf(buf + n, len - n, ", %s norm", c->norm == GFT_NORM_BATCH ? "batch" : "layer");
}

int gft_is_file(const char *dir, const char *file)
{
    char path[4200];
    struct stat sb;
    int n = snprintf(path, sizeof path, "%s/%s", dir, file);
    if (n < 0 || (size_t)n >= sizeof path)
        return 0;
    return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

int gft_lock_dir(gf_run_lock **lock, const char *dir)
{
    gf_status st = gf_mkdir_p(dir);
    if (st == GF_OK)
        st = gf_run_lock_acquire(lock, dir);
    if (st != GF_OK) {
        gft_error("--out %s: %s", dir, gf_last_error());
        return -1;
    }
    return 0;
}

int gft_path_in(char *buf, size_t len, const char *dir, const char *file)
{
    int n = snprintf(buf, len, "%s/%s", dir, file);
    if (n < 0 || (size_t)n >= len) {
        gft_error("--out: the path '%s/%s' is too long", dir, file);
        return -1;
    }
    return 0;
}

/* A number starts here: a digit, or a point before one. */
static int number_at(const char *s)
{
    return (*s >= '0' && *s <= '9') || (*s == '.' && s[1] >= '0' && s[1] <= '9');
}

int gft_natural_cmp(const char *a, const char *b)
{
    while (*a && *b) {
        if (number_at(a) && number_at(b)) {
            /* strtod reads 0.01, 1e-3 and 20 alike: compare the values. */
            char *ea, *eb;
            double x = strtod(a, &ea), y = strtod(b, &eb);
            if (x != y)
                return x < y ? -1 : 1;
            a = ea, b = eb;
            continue;
        }
        if (*a != *b)
            return (unsigned char)*a < (unsigned char)*b ? -1 : 1;
        a++, b++;
    }
    /* Equal up to here: the shorter first; equal values spelt apart ("1" and "1.0") by
     * their bytes, so the order is total. */
    return *a ? 1 : *b ? -1 : 0;
}
