/* tests/test_rnn.c: recurrent layers. Backpropagation through time for the tanh RNN,
 * the LSTM and the GRU, with the last state or the whole sequence as output, checked
 * element by element (dx, every weight, every bias) against central differences per
 * layer and through gf_net_gradcheck; forward passes against hand-computed recurrences;
 * the per-step gradient norms against an exactly geometric case; initialisation;
 * training by BPTT; CSV output; bad input and allocation failures. */
#include "testutil.h"

#include "gradflow.h"
#include "gradflow/rnn.h"

#if GF_REAL_IS_DOUBLE
#define NET_FD_TOL 1e-5
#else
#define NET_FD_TOL 5e-2
#endif

static gf_tensor mat(gf_real *data, size_t rows, size_t cols)
{
    gf_tensor t = {.data = data, .rows = rows, .cols = cols};
    return t;
}

static double coef(size_t i) { return 0.5 + 0.9 * sin(0.7 * (double)i + 0.3); }

static const gf_rnn_cell cells[] = {GF_RNN_TANH, GF_RNN_LSTM, GF_RNN_GRU};

/* A recurrent layer bound to heap arrays owned by the fixture. */
typedef struct fixture {
    gf_layer l;
    gf_real *w, *b, *dw, *db;
    size_t nw, nb;
} fixture;

static void setup(fixture *f, gf_rnn_cell cell, size_t in, size_t H, size_t T, unsigned flags,
                  uint64_t seed)
{
    gf_rng rng;
    gf_init init = gf_init_default(GF_INIT_NORMAL);
    memset(f, 0, sizeof *f);
    assert_ok(gf_layer_rnn(&f->l, cell, in, H, T, flags));
    f->nw = f->l.weight.rows * f->l.weight.cols;
    f->nb = f->l.bias.cols;
    f->w = test_calloc(f->nw, sizeof(gf_real));
    f->dw = test_calloc(f->nw, sizeof(gf_real));
    f->b = test_calloc(f->nb, sizeof(gf_real));
    f->db = test_calloc(f->nb, sizeof(gf_real));
    f->l.weight.data = f->w;
    f->l.dweight.data = f->dw;
    f->l.bias.data = f->b;
    f->l.dbias.data = f->db;
    f->l.ops->reset(&f->l);
    /* Weights of order 1 (std 0.6), so that gates are neither saturated nor linear, and
     * biases of both signs: every term of the backward pass carries weight. */
    gf_rng_seed(&rng, seed);
    init.std = 0.6;
    init.bias = 0.1;
    assert_ok(gf_rnn_init(&f->l, &init, &rng));
    for (size_t j = 0; j < f->nb; j++)
        f->b[j] += (gf_real)(0.3 * sin(1.3 * (double)j));
}

static void teardown(fixture *f)
{
    gf_layer_release(&f->l);
    test_free(f->w);
    test_free(f->dw);
    test_free(f->b);
    test_free(f->db);
}

static double loss(gf_layer *l, const gf_tensor *x, gf_tensor *y)
{
    double sum = 0;
    assert_ok(l->ops->forward(l, x, y, 1));
    for (size_t i = 0; i < y->rows * y->cols; i++)
        sum += coef(i) * y->data[i];
    return sum;
}

static void check_fd(const char *what, gf_layer *l, const gf_tensor *x, gf_tensor *y,
                     gf_real *at, const gf_real *grad, size_t n)
{
    double norm = 0;
    for (size_t i = 0; i < n; i++) {
        gf_real keep = at[i], up = (gf_real)(keep + TU_FD_H), down = (gf_real)(keep - TU_FD_H);
        double lp, lm, num;
        at[i] = up;
        lp = loss(l, x, y);
        at[i] = down;
        lm = loss(l, x, y);
        at[i] = keep;
        num = (lp - lm) / ((double)up - (double)down);
        if (!(fabs(grad[i] - num) <= TU_FD_ABS + TU_FD_REL * fabs(num)))
            fail_msg("%s[%zu]: analytic %.10g, central difference %.10g", what, i,
                     (double)grad[i], num);
        norm += (double)grad[i] * grad[i];
    }
    if (!(sqrt(norm) > 1e-3))
        fail_msg("%s: the analytic gradient is (nearly) all zero", what);
}

/* ---- BPTT against central differences ---------------------------------------------------- */

static void bptt_matches_central_differences(void **state)
{
    enum { IN = 3, H = 4, T = 5, BATCH = 2 };
    (void)state;
    for (size_t c = 0; c < 3; c++) {
        for (unsigned flags = 0; flags <= GF_RNN_SEQUENCE; flags++) {
            fixture f;
            size_t out = flags ? T * H : H;
            gf_real xv[BATCH * T * IN], yv[BATCH * T * H], dyv[BATCH * T * H],
                dxv[BATCH * T * IN];
            gf_tensor x = mat(xv, BATCH, T * IN), y = mat(yv, BATCH, out),
                      dy = mat(dyv, BATCH, out), dx = mat(dxv, BATCH, T * IN);
            gf_rng rng;
            char what[64];
            const char *name = gf_rnn_cell_name(cells[c]);
            setup(&f, cells[c], IN, H, T, flags, 10 + c);
            assert_int_equal(f.l.in, T * IN);
            assert_int_equal(f.l.out, out);
            gf_rng_seed(&rng, 100 + c);
            tu_fill_uniform(&x, &rng, -1.5, 1.5);
            for (size_t i = 0; i < BATCH * out; i++)
                dyv[i] = (gf_real)coef(i);
            memset(dxv, 0, sizeof dxv);
            assert_ok(f.l.ops->forward(&f.l, &x, &y, 1));
            assert_ok(f.l.ops->backward(&f.l, &x, &y, &dy, &dx));
            snprintf(what, sizeof what, "%s%s dx", name, flags ? "(seq)" : "");
            check_fd(what, &f.l, &x, &y, xv, dxv, BATCH * T * IN);
            snprintf(what, sizeof what, "%s%s dW", name, flags ? "(seq)" : "");
            check_fd(what, &f.l, &x, &y, f.w, f.dw, f.nw);
            snprintf(what, sizeof what, "%s%s db", name, flags ? "(seq)" : "");
            check_fd(what, &f.l, &x, &y, f.b, f.db, f.nb);
            /* The first step's input matters to the last state (not all zero). */
            assert_true(gf_array_norm2(dxv, IN) > 1e-4);
            teardown(&f);
        }
    }
}

/* Through the engine: input -> recurrent layer -> linear, for each cell. */
static void network_gradcheck(void **state)
{
    (void)state;
    for (size_t c = 0; c < 3; c++) {
        gf_net *net = NULL;
        gf_rng rng;
        gf_tensor *x = tu_tensor(3, 4 * 2), *t = tu_tensor(3, 2);
        gf_gradcheck_layer res[2];
        double worst = NAN;
        gf_init xavier = gf_init_default(GF_INIT_XAVIER_NORMAL);
        gf_rng_seed(&rng, 40 + c);
        assert_ok(gf_net_new(&net, 8));
        assert_ok(gf_net_add_rnn(net, cells[c], 5, 4, 0, NULL, &rng));
        assert_ok(gf_net_add_linear(net, 2));
        assert_ok(gf_net_init(net, &xavier, &rng));
        assert_string_equal(gf_net_layer_kind(net, 0), "rnn");
        tu_fill_uniform(x, &rng, -1, 1);
        tu_fill_uniform(t, &rng, -1, 1);
        assert_ok(gf_net_gradcheck(net, res, &worst, x, t, GF_LOSS_MSE, NULL));
        assert_true(worst < NET_FD_TOL);
        assert_true(res[0].grad_norm > 1e-6 && res[0].checked > 0);
        gf_tensor_free(x);
        gf_tensor_free(t);
        gf_net_free(net);
    }
}

/* ---- Forward against the recurrences by hand ---------------------------------------------- */

static double sg(double a) { return 1 / (1 + exp(-a)); }

static void forward_matches_recurrences(void **state)
{
    /* One unit, one feature, three steps; weight rows [wx, wh] per gate. */
    const double xs[3] = {0.5, -1.0, 2.0};
    gf_real xv[3] = {0.5, -1.0, 2.0}, yv[3];
    gf_tensor x = mat(xv, 1, 3);
    (void)state;
    for (size_t c = 0; c < 3; c++) {
        fixture f;
        double h = 0, cst = 0, want[3];
        gf_tensor y = mat(yv, 1, 3);
        setup(&f, cells[c], 1, 1, 3, GF_RNN_SEQUENCE, 1);
        for (size_t k = 0; k < f.nw; k++)
            f.w[k] = (gf_real)(0.3 + 0.2 * (double)k - 0.05 * (double)(k * k));
        for (size_t k = 0; k < f.nb; k++)
            f.b[k] = (gf_real)(0.1 * (double)k - 0.15);
        for (int t = 0; t < 3; t++) {
            const gf_real *w = f.w, *b = f.b;
            if (cells[c] == GF_RNN_TANH) {
                h = tanh(w[0] * xs[t] + w[1] * h + b[0]);
            } else if (cells[c] == GF_RNN_LSTM) {
                double i = sg(w[0] * xs[t] + w[1] * h + b[0]);
                double fg = sg(w[2] * xs[t] + w[3] * h + b[1]);
                double g = tanh(w[4] * xs[t] + w[5] * h + b[2]);
                double o = sg(w[6] * xs[t] + w[7] * h + b[3]);
                cst = fg * cst + i * g;
                h = o * tanh(cst);
            } else {
                double r = sg(w[0] * xs[t] + w[1] * h + b[0]);
                double z = sg(w[2] * xs[t] + w[3] * h + b[1]);
                double n = tanh(w[4] * xs[t] + w[5] * (r * h) + b[2]);
                h = (1 - z) * n + z * h;
            }
            want[t] = h;
        }
        assert_ok(f.l.ops->forward(&f.l, &x, &y, 1));
        for (int t = 0; t < 3; t++)
            assert_near(yv[t], want[t], 10 * TU_TOL_ABS, 10 * TU_TOL_REL);
        /* The last-state layer gives h_T, the sequence's last block. */
        {
            fixture g;
            gf_real lv[1];
            gf_tensor last = mat(lv, 1, 1);
            setup(&g, cells[c], 1, 1, 3, 0, 1);
            memcpy(g.w, f.w, f.nw * sizeof(gf_real));
            memcpy(g.b, f.b, f.nb * sizeof(gf_real));
            assert_ok(g.l.ops->forward(&g.l, &x, &last, 0));
            assert_true(lv[0] == yv[2]);
            teardown(&g);
        }
        teardown(&f);
    }
}

/* ---- Gradient through time ----------------------------------------------------------------- */

/* W_x = 0, b = 0: h stays 0 where tanh' = 1, so dL/dh_{t-1} = W_h^T dL/dh_t. With W_h =
 * s Q, Q orthogonal, every step multiplies the norm by exactly s: norms[t] =
 * s^(T-1-t) ||dy||, the vanishing (s < 1) and exploding (s > 1) gradient in its purest
 * form. */
static void time_norms_are_geometric(void **state)
{
    enum { H = 6, T = 15 };
    (void)state;
    for (int k = 0; k < 2; k++) {
        double s = k ? 1.25 : 0.6;
        fixture f;
        gf_rng rng;
        gf_init ortho = gf_init_default(GF_INIT_ORTHOGONAL);
        gf_real xv[2 * T], yv[2 * H], dyv[2 * H];
        gf_tensor x = mat(xv, 2, T), y = mat(yv, 2, H), dy = mat(dyv, 2, H);
        const double *norms;
        size_t steps;
        setup(&f, GF_RNN_TANH, 1, H, T, 0, 3);
        ortho.gain = s;
        gf_rng_seed(&rng, 7);
        assert_ok(gf_rnn_init(&f.l, &ortho, &rng));
        for (size_t r = 0; r < H; r++)
            f.w[r * (1 + H)] = 0; /* W_x */
        for (size_t i = 0; i < 2 * T; i++)
            xv[i] = (gf_real)sin((double)i);
        for (size_t i = 0; i < 2 * H; i++)
            dyv[i] = (gf_real)coef(i);
        assert_status(gf_rnn_time_grad_norms(&f.l, &norms, &steps), GF_ESTATE);
        assert_ok(f.l.ops->forward(&f.l, &x, &y, 1));
        assert_ok(f.l.ops->backward(&f.l, &x, &y, &dy, NULL));
        assert_ok(gf_rnn_time_grad_norms(&f.l, &norms, &steps));
        assert_int_equal(steps, T);
        for (size_t t = 0; t < T; t++)
            assert_near(norms[t], pow(s, (double)(T - 1 - t)) * gf_array_norm2(dyv, 2 * H), 0,
                        1e2 * TU_EPS * T);
        teardown(&f);
    }
}

/* Per-parameter norms add up to the layer's gradient norm; the CSV has T lines. */
static void param_norms_and_csv(void **state)
{
    fixture f;
    gf_real xv[2 * 12], yv[2 * 4], dyv[2 * 4];
    gf_tensor x = mat(xv, 2, 12), y = mat(yv, 2, 4), dy = mat(dyv, 2, 4);
    double wx, wh, b, all;
    char line[128];
    int lines = 0;
    FILE *fp = tmpfile();
    (void)state;
    assert_non_null(fp);
    setup(&f, GF_RNN_LSTM, 3, 4, 4, 0, 5);
    for (size_t i = 0; i < 24; i++)
        xv[i] = (gf_real)cos(0.3 * (double)i);
    for (size_t i = 0; i < 8; i++)
        dyv[i] = (gf_real)coef(i);
    assert_ok(f.l.ops->forward(&f.l, &x, &y, 1));
    assert_ok(f.l.ops->backward(&f.l, &x, &y, &dy, NULL));
    assert_ok(gf_rnn_param_grad_norms(&f.l, &wx, &wh, &b));
    assert_ok(gf_rnn_param_grad_norms(&f.l, NULL, NULL, NULL));
    all = gf_array_norm2(f.dw, f.nw);
    assert_true(wx > 0 && wh > 0 && b > 0);
    assert_near(wx * wx + wh * wh, all * all, 0, 1e-6);
    assert_near(b, gf_array_norm2(f.db, f.nb), 0, 1e-12);
    assert_ok(gf_rnn_write_time_csv(&f.l, fp, 7, 1));
    assert_ok(gf_rnn_write_time_csv(&f.l, fp, 8, 0));
    rewind(fp);
    assert_non_null(fgets(line, sizeof line, fp));
    assert_string_equal(line, "step,t,grad_h_norm\n");
    while (fgets(line, sizeof line, fp) != NULL) {
        unsigned long long step;
        size_t t;
        double v;
        assert_int_equal(sscanf(line, "%llu,%zu,%lg", &step, &t, &v), 3);
        assert_true(step == (lines < 4 ? 7u : 8u) && t == (size_t)(lines % 4) + 1 && v > 0);
        lines++;
    }
    assert_int_equal(lines, 8);
    fclose(fp);
    teardown(&f);
}

/* ---- Initialisation --------------------------------------------------------------------- */

static void init_schemes(void **state)
{
    gf_net *net = NULL;
    gf_rng rng;
    gf_layer *l;
    gf_init ortho = gf_init_default(GF_INIT_ORTHOGONAL), lsuv = gf_init_default(GF_INIT_LSUV);
    size_t in, H, T;
    gf_rnn_cell cell;
    (void)state;
    gf_rng_seed(&rng, 9);
    assert_ok(gf_net_new(&net, 5 * 2));
    assert_ok(gf_net_add_rnn(net, GF_RNN_LSTM, 16, 5, 0, NULL, &rng));
    l = gf_net_layer_mut(net, 0);
    assert_int_equal(l->is_parametric, 0);
    assert_ok(gf_rnn_shape(l, &cell, &in, &H, &T));
    assert_true(cell == GF_RNN_LSTM && in == 2 && H == 16 && T == 5);
    assert_ok(gf_rnn_shape(l, NULL, NULL, NULL, NULL));
    /* Default: U(-1/sqrt(H), 1/sqrt(H)) = U(-0.25, 0.25); biases 0 but the forget gate 1. */
    {
        double mx = 0;
        for (size_t i = 0; i < l->weight.rows * l->weight.cols; i++)
            mx = fmax(mx, fabs(l->weight.data[i]));
        assert_true(mx <= 0.25 && mx > 0.2);
        for (size_t j = 0; j < 64; j++)
            assert_true(l->bias.data[j] == (j >= 16 && j < 32 ? 1 : 0));
    }
    /* Orthogonal per gate block: W_h^g (W_h^g)^T = I for every gate g. */
    assert_ok(gf_rnn_init(l, &ortho, &rng));
    for (size_t g = 0; g < 4; g++)
        for (size_t a = 0; a < H; a++)
            for (size_t b = 0; b < H; b++) {
                double dot = 0;
                for (size_t k = 0; k < H; k++)
                    dot += (double)l->weight.data[(g * H + a) * (in + H) + in + k] *
                           l->weight.data[(g * H + b) * (in + H) + in + k];
                assert_near(dot, a == b, 1e2 * TU_EPS, 0);
            }
    /* gf_net_init leaves the recurrent layer alone. */
    {
        gf_real keep = l->weight.data[3];
        gf_init he = gf_init_default(GF_INIT_HE_NORMAL);
        assert_ok(gf_net_init(net, &he, &rng));
        assert_true(l->weight.data[3] == keep);
    }
    assert_status(gf_rnn_init(l, &lsuv, &rng), GF_EUNSUPPORTED);
    assert_status(gf_rnn_init(l, NULL, NULL), GF_EINVAL);
    gf_net_free(net);
}

/* ---- Training by BPTT --------------------------------------------------------------------- */

/* Recall the first input of a 6-step sequence at the end: every cell learns it, which
 * takes gradients through all six steps. */
static void bptt_trains_a_memory_task(void **state)
{
    enum { T = 6, BATCH = 32 };
    (void)state;
    for (size_t c = 0; c < 3; c++) {
        gf_net *net = NULL;
        gf_rng rng;
        gf_optim *opt = NULL;
        gf_optim_config cfg = gf_optim_default(GF_OPTIM_ADAM);
        gf_clip clip = {GF_CLIP_GLOBAL_NORM, 1.0};
        gf_tensor *x = tu_tensor(BATCH, T), *t = tu_tensor(BATCH, 1);
        gf_init xavier = gf_init_default(GF_INIT_XAVIER_NORMAL);
        double first = 0, last = 0;
        gf_rng_seed(&rng, 60 + c);
        assert_ok(gf_net_new(&net, T));
        assert_ok(gf_net_add_rnn(net, cells[c], 12, T, 0, NULL, &rng));
        assert_ok(gf_net_add_linear(net, 1));
        assert_ok(gf_net_init(net, &xavier, &rng));
        cfg.lr = 0.01;
        assert_ok(gf_optim_new(&opt, &cfg, gf_net_param_count(net)));
        for (int s = 0; s < 400; s++) {
            double l;
            tu_fill_uniform(x, &rng, -1, 1);
            for (size_t r = 0; r < BATCH; r++)
                t->data[r] = x->data[r * T];
            assert_ok(gf_net_train_step(net, &l, x, t, opt, GF_LOSS_MSE, &clip));
            if (s < 20)
                first += l / 20;
            if (s >= 380)
                last += l / 20;
        }
        /* The variance of the target is 1/3: a net that ignores x stays near it. */
        if (!(last < 0.1 * first))
            fail_msg("%s: MSE %.4f at the start, %.4f at the end", gf_rnn_cell_name(cells[c]),
                     first, last);
        gf_optim_free(opt);
        gf_tensor_free(x);
        gf_tensor_free(t);
        gf_net_free(net);
    }
}

/* ---- Bad input ---------------------------------------------------------------------------- */

static void bad_arguments(void **state)
{
    gf_layer l, lin;
    gf_rnn_cell cell;
    gf_net *net = NULL;
    gf_rng rng;
    const double *norms;
    size_t T;
    double v;
    gf_init bad = gf_init_default(GF_INIT_NORMAL);
    (void)state;
    gf_rng_seed(&rng, 1);
    assert_string_equal(gf_rnn_cell_name(GF_RNN_GRU), "gru");
    assert_null(gf_rnn_cell_name(GF_RNN_CELL_COUNT));
    assert_ok(gf_rnn_cell_from_name(&cell, "lstm"));
    assert_true(cell == GF_RNN_LSTM);
    assert_ok(gf_rnn_cell_from_name(&cell, "tanh"));
    assert_true(cell == GF_RNN_TANH);
    assert_status(gf_rnn_cell_from_name(&cell, "transformer"), GF_ENOTFOUND);
    assert_status(gf_rnn_cell_from_name(NULL, "rnn"), GF_EINVAL);
    assert_status(gf_rnn_cell_from_name(&cell, NULL), GF_EINVAL);

    assert_status(gf_layer_rnn(NULL, GF_RNN_TANH, 1, 1, 1, 0), GF_EINVAL);
    assert_status(gf_layer_rnn(&l, GF_RNN_CELL_COUNT, 1, 1, 1, 0), GF_EINVAL);
    assert_status(gf_layer_rnn(&l, GF_RNN_TANH, 0, 1, 1, 0), GF_EINVAL);
    assert_status(gf_layer_rnn(&l, GF_RNN_TANH, 1, 0, 1, 0), GF_EINVAL);
    assert_status(gf_layer_rnn(&l, GF_RNN_TANH, 1, 1, 0, 0), GF_EINVAL);
    assert_status(gf_layer_rnn(&l, GF_RNN_TANH, 1, 1, 1, 6), GF_EINVAL);
    assert_error_mentions("flags");
    assert_status(gf_layer_rnn(&l, GF_RNN_LSTM, (size_t)1 << 40, (size_t)1 << 30, 1, 0),
                  GF_EINVAL);
    assert_status(gf_layer_rnn(&l, GF_RNN_TANH, SIZE_MAX, 2, 1, 0), GF_EINVAL);

    /* Unbound and not-a-recurrent-layer. */
    assert_ok(gf_layer_rnn(&l, GF_RNN_GRU, 2, 3, 4, 0));
    assert_status(gf_rnn_init(&l, NULL, &rng), GF_ESTATE);
    assert_status(gf_rnn_param_grad_norms(&l, &v, &v, &v), GF_ESTATE);
    {
        gf_real xv[16], yv[6];
        gf_tensor x = mat(xv, 2, 8), y = mat(yv, 2, 3), x_bad = mat(xv, 2, 7);
        memset(xv, 0, sizeof xv);
        assert_status(l.ops->forward(&l, &x, &y, 1), GF_ESTATE);
        assert_error_mentions("not bound");
        assert_status(l.ops->forward(&l, &x_bad, &y, 1), GF_ESHAPE);
        assert_error_mentions("4 steps x 2 features");
        assert_status(l.ops->forward(&l, NULL, &y, 1), GF_EINVAL);
        assert_status(l.ops->forward(NULL, &x, &y, 1), GF_EINVAL);
    }
    assert_status(gf_rnn_time_grad_norms(&l, &norms, &T), GF_ESTATE);
    assert_status(gf_rnn_time_grad_norms(&l, NULL, &T), GF_EINVAL);
    assert_status(gf_rnn_time_grad_norms(&l, &norms, NULL), GF_EINVAL);
    assert_status(gf_rnn_write_time_csv(&l, NULL, 0, 1), GF_EINVAL);
    gf_layer_release(&l);
    assert_ok(gf_layer_linear(&lin, 2, 2));
    assert_status(gf_rnn_time_grad_norms(&lin, &norms, &T), GF_EINVAL);
    assert_error_mentions("not a recurrent layer");
    assert_status(gf_rnn_shape(&lin, NULL, NULL, NULL, NULL), GF_EINVAL);
    assert_status(gf_rnn_shape(NULL, NULL, NULL, NULL, NULL), GF_EINVAL);
    assert_status(gf_rnn_init(&lin, NULL, &rng), GF_EINVAL);
    assert_status(gf_rnn_param_grad_norms(NULL, &v, &v, &v), GF_EINVAL);

    /* Adding to a network. */
    assert_status(gf_net_add_rnn(NULL, GF_RNN_TANH, 3, 2, 0, NULL, &rng), GF_EINVAL);
    assert_ok(gf_net_new(&net, 10));
    assert_status(gf_net_add_rnn(net, GF_RNN_TANH, 3, 3, 0, NULL, &rng), GF_ESHAPE);
    assert_error_mentions("whole number");
    assert_status(gf_net_add_rnn(net, GF_RNN_TANH, 3, 0, 0, NULL, &rng), GF_ESHAPE);
    assert_status(gf_net_add_rnn(net, GF_RNN_TANH, 0, 5, 0, NULL, &rng), GF_EINVAL);
    assert_status(gf_net_add_rnn(net, GF_RNN_TANH, 3, 5, 0, NULL, NULL), GF_EINVAL);
    bad.std = NAN;
    assert_status(gf_net_add_rnn(net, GF_RNN_TANH, 3, 5, 0, &bad, &rng), GF_EINVAL);
    bad = gf_init_default(GF_INIT_LSUV);
    assert_status(gf_net_add_rnn(net, GF_RNN_TANH, 3, 5, 0, &bad, &rng), GF_EUNSUPPORTED);
    assert_int_equal(gf_net_layer_count(net), 0);
    assert_ok(gf_net_add_rnn(net, GF_RNN_TANH, 3, 5, GF_RNN_SEQUENCE, NULL, &rng));
    assert_int_equal(gf_net_out_features(net), 15);
    /* A backward pass of another batch than the forward's. */
    {
        gf_layer *r = gf_net_layer_mut(net, 0);
        gf_real xv[30], yv[45], dxv[30];
        gf_tensor x = mat(xv, 3, 10), y = mat(yv, 3, 15), x2 = mat(xv, 2, 10),
                  y2 = mat(yv, 2, 15), dx = mat(dxv, 3, 10);
        memset(xv, 0, sizeof xv);
        assert_ok(r->ops->forward(r, &x, &y, 1));
        assert_status(r->ops->backward(r, &x2, &y2, &y2, NULL), GF_ESTATE);
        assert_status(r->ops->backward(r, &x, &y, &x, NULL), GF_ESHAPE);
        assert_status(r->ops->backward(r, &x, &y, &y, &y), GF_ESHAPE);
        memset(dxv, 0, sizeof dxv);
        assert_ok(r->ops->backward(r, &x, &y, &y, &dx));
    }
    gf_net_free(net);
}

static void allocation_failures(void **state)
{
    (void)state;
    for (long k = 1; k < 40; k++) {
        gf_net *net = NULL;
        gf_tensor *x = NULL;
        gf_rng rng;
        gf_init ortho = gf_init_default(GF_INIT_ORTHOGONAL);
        gf_status st;
        gf_rng_seed(&rng, 1);
        tu_alloc_install(k);
        st = gf_net_new(&net, 12);
        if (st == GF_OK)
            st = gf_net_add_rnn(net, (gf_rnn_cell)(k % 3), 5, 4, 0, &ortho, &rng);
        if (st == GF_OK)
            st = gf_tensor_new(&x, 3, 12);
        if (st == GF_OK)
            st = gf_net_forward(net, NULL, x);
        if (st == GF_OK)
            st = gf_net_backward_from(net, gf_net_activation(net, 1));
        assert_true(st == (tu_alloc.failed ? GF_ENOMEM : GF_OK));
        gf_tensor_free(x);
        gf_net_free(net);
        assert_int_equal(tu_alloc_live(), 0);
        tu_alloc_uninstall();
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bptt_matches_central_differences),
        cmocka_unit_test(network_gradcheck),
        cmocka_unit_test(forward_matches_recurrences),
        cmocka_unit_test(time_norms_are_geometric),
        cmocka_unit_test(param_norms_and_csv),
        cmocka_unit_test(init_schemes),
        cmocka_unit_test(bptt_trains_a_memory_task),
        cmocka_unit_test(bad_arguments),
        cmocka_unit_test(allocation_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
