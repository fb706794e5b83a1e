/* tests/test_badinput.c: every public function fed its bad arguments, one table row per
 * case: NULL pointers, mismatched shapes, zero and huge sizes, NaN/inf/negative
 * hyper-parameters, unknown names, calls out of order. Each row names the documented
 * status; the test demands that status and a non-empty gf_last_error(), and (through
 * the counting allocator) that the failing call leaked nothing.
 * One file on purpose, at about 700 lines: most of it is the one table of cases (an
 * X-macro that expands into the test list), which a reader scans as a whole, and the
 * multi-step cases above it share its fixture. */
#include "testutil.h"

#include <stdio.h>
#include <sys/resource.h>

#include "gradflow.h"
#include "../src/io/crc32.h" /* to forge checksums */
#include "gradflow/data.h"

/* Valid objects for the cases to misuse; outputs a case may produce (if a function
 * wrongly succeeds) are freed by the teardown. */
typedef struct fx {
    gf_rng rng;
    gf_tensor *x;      /* (4, 3): a batch for net */
    gf_tensor *t;      /* (4, 2): an MSE target for net */
    gf_tensor *cls;    /* (4, 1): class indices 0, 1, 1, 0 */
    gf_tensor *bad_t;  /* (4, 2): a target holding NaN */
    gf_tensor *a, *b;  /* (2, 3) */
    gf_tensor *c;      /* (3, 2) */
    gf_tensor *m22;    /* (2, 2) */
    gf_tensor *row;    /* (1, 3) */
    gf_tensor *col;    /* (2, 1) */
    gf_tensor nodata;  /* a 2 x 2 view without data */
    gf_net *net;       /* 3 -> linear 2 -> relu -> linear 2 */
    gf_net *fresh;     /* the same, never run */
    gf_net *empty;     /* no layers */
    gf_optim *opt;     /* SGD for net */
    gf_telemetry *tel;
    gf_real g[4];      /* a small gradient array */
    gf_real g_nan[4];  /* one holding NaN */
    gf_record rec;
    gf_gradcheck_layer gc[4];
    /* Outputs */
    gf_tensor *t_out;
    gf_net *n_out;
    gf_optim *o_out;
    gf_telemetry *tel_out;
    gf_layer layer;
    gf_dataset *ds_out;
    void *mem_out;
    size_t size_out;
    double d;
} fx;

static const char *const tmp_csv = "test_badinput.csv";

/* cmocka's state for one case: the row, and the fixture setup builds for it. */
typedef struct slot {
    const struct bad_case *c;
    fx *f;
} slot;

static int setup(void **state)
{
    slot *s = *state;
    fx *f = calloc(1, sizeof *f);
    gf_optim_config sgd = gf_optim_default(GF_OPTIM_SGD);
    assert_non_null(f);
    tu_alloc_install(0);
    gf_rng_seed(&f->rng, 17);
    f->x = tu_tensor(4, 3);
    f->t = tu_tensor(4, 2);
    f->cls = tu_tensor(4, 1);
    f->bad_t = tu_tensor(4, 2);
    f->a = tu_tensor(2, 3);
    f->b = tu_tensor(2, 3);
    f->c = tu_tensor(3, 2);
    f->m22 = tu_tensor(2, 2);
    f->row = tu_tensor(1, 3);
    f->col = tu_tensor(2, 1);
    f->nodata = gf_tensor_view(NULL, 2, 2);
    tu_fill_uniform(f->x, &f->rng, -1, 1);
    tu_fill_uniform(f->t, &f->rng, -1, 1);
    tu_fill_uniform(f->a, &f->rng, -1, 1);
    tu_fill_uniform(f->b, &f->rng, -1, 1);
    tu_fill_uniform(f->c, &f->rng, -1, 1);
    f->cls->data[1] = f->cls->data[2] = 1;
    f->bad_t->data[3] = (gf_real)NAN;
    for (int i = 0; i < 4; i++)
        f->g[i] = f->g_nan[i] = (gf_real)(i + 1);
    f->g_nan[2] = (gf_real)NAN;
    for (int k = 0; k < 2; k++) {
        gf_net **n = k == 0 ? &f->net : &f->fresh;
        gf_init init = gf_init_default(GF_INIT_HE_NORMAL);
        assert_ok(gf_net_new(n, 3));
        assert_ok(gf_net_add_linear(*n, 2));
        assert_ok(gf_net_add_activation(*n, "relu"));
        assert_ok(gf_net_add_linear(*n, 2));
        assert_ok(gf_net_init(*n, &init, &f->rng));
    }
    assert_ok(gf_net_new(&f->empty, 3));
    assert_ok(gf_optim_new(&f->opt, &sgd, gf_net_param_count(f->net)));
    assert_ok(gf_telemetry_new(&f->tel));
    gf_record_set_kind(&f->rec, "linear");
    s->f = f;
    return 0;
}

static int teardown(void **state)
{
    slot *s = *state;
    fx *f = s->f;
    gf_tensor *ts[] = {f->x, f->t, f->cls, f->bad_t, f->a, f->b, f->c, f->m22, f->row, f->col,
                       f->t_out};
    for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++)
        gf_tensor_free(ts[i]);
    gf_net_free(f->net);
    gf_net_free(f->fresh);
    gf_net_free(f->empty);
    gf_net_free(f->n_out);
    gf_optim_free(f->opt);
    gf_optim_free(f->o_out);
    gf_telemetry_free(f->tel);
    gf_telemetry_free(f->tel_out);
    gf_layer_release(&f->layer);
    gf_free(f->mem_out);
    gf_dataset_free(f->ds_out);
    remove(tmp_csv);
    /* Nothing a failing call allocated outlives it. */
    assert_int_equal(tu_alloc_live(), 0);
    tu_alloc_uninstall();
    free(f);
    s->f = NULL;
    return 0;
}

/* ---- Cases that need a few steps ------------------------------------------------------ */

static gf_status forward_ok(fx *f)
{
    assert_ok(gf_net_forward(f->net, NULL, f->x));
    return GF_OK;
}

static gf_status backward_ok(fx *f)
{
    double loss;
    forward_ok(f);
    assert_ok(gf_net_loss(f->net, &loss, f->t, GF_LOSS_MSE));
    assert_ok(gf_net_backward(f->net));
    return GF_OK;
}

static gf_status unbound_linear_forward(fx *f)
{
    gf_tensor *y = tu_tensor(4, 2);
    gf_status st;
    assert_ok(gf_layer_linear(&f->layer, 3, 2));
    st = f->layer.ops->forward(&f->layer, f->x, y, 1);
    gf_tensor_free(y);
    return st;
}

static gf_status layer_forward_wrong_input(fx *f)
{
    gf_layer *l = gf_net_layer_mut(f->net, 0);
    gf_tensor *y = tu_tensor(3, 2);
    gf_status st = l->ops->forward(l, f->c, y, 1); /* (3, 2) into a layer taking 3 */
    gf_tensor_free(y);
    return st;
}

static gf_status layer_backward_wrong_dy(fx *f)
{
    gf_layer *l = gf_net_layer_mut(f->net, 0);
    gf_tensor *y = tu_tensor(4, 2);
    gf_status st;
    assert_ok(l->ops->forward(l, f->x, y, 1));
    st = l->ops->backward(l, f->x, y, f->m22, NULL); /* dy (2, 2), y is (4, 2) */
    gf_tensor_free(y);
    return st;
}

static gf_status add_layer_wrong_width(fx *f)
{
    gf_layer l;
    assert_ok(gf_layer_linear(&l, 5, 2));
    return gf_net_add_layer(f->net, &l); /* the network gives 2 */
}

static gf_status add_layer_no_ops(fx *f)
{
    gf_layer l;
    memset(&l, 0, sizeof l);
    l.in = l.out = 2;
    return gf_net_add_layer(f->net, &l);
}

static gf_status loss_class_out_of_range(fx *f)
{
    double loss;
    f->cls->data[0] = 5; /* y has 2 columns: classes 0 and 1 */
    return gf_loss_compute(&loss, NULL, f->t, f->cls, GF_LOSS_SOFTMAX_CE);
}

static gf_status loss_class_fractional(fx *f)
{
    double loss;
    f->cls->data[0] = (gf_real)0.5;
    return gf_loss_compute(&loss, NULL, f->t, f->cls, GF_LOSS_SOFTMAX_CE);
}

static gf_status loss_bce_target_outside(fx *f)
{
    double loss;
    f->bad_t->data[3] = 0; /* finite now, but one target is outside [0, 1] */
    f->bad_t->data[0] = (gf_real)1.5;
    return gf_loss_compute(&loss, NULL, f->t, f->bad_t, GF_LOSS_BCE_LOGITS);
}

static gf_status init_bad(fx *f, gf_init_kind kind, int field, double value)
{
    gf_init init = gf_init_default(kind);
    (void)f;
    switch (field) {
    case 0: init.std = value; break;
    case 1: init.mean = value; break;
    case 2: init.low = value; break;
    case 3: init.gain = value; break;
    case 4: init.value = value; break;
    case 5: init.slope = value; break;
    default: init.bias = value; break;
    }
    return gf_init_validate(&init);
}

static gf_status init_tensor_null_rng(fx *f)
{
    gf_init init = gf_init_default(GF_INIT_NORMAL);
    return gf_init_tensor(f->a, &init, NULL);
}

static gf_status net_init_bad_init(fx *f)
{
    gf_init init = gf_init_default(GF_INIT_NORMAL);
    init.std = -1;
    return gf_net_init(f->net, &init, &f->rng);
}

static gf_status lsuv(fx *f, const gf_tensor *batch, double tol, int max_iter)
{
    gf_init init = gf_init_default(GF_INIT_LSUV);
    return gf_net_init_lsuv(f->net, &init, batch, tol, max_iter, &f->rng);
}

static gf_status optim_with(fx *f, gf_optim_kind kind, int field, double value, size_t n)
{
    gf_optim_config c = gf_optim_default(kind);
    switch (field) {
    case 0: c.lr = value; break;
    case 1: c.momentum = value; break;
    case 2: c.beta1 = value; break;
    case 3: c.beta2 = value; break;
    case 4: c.eps = value; break;
    case 5: c.weight_decay = value; break;
    case 6: c.kind = (gf_optim_kind)value; break;
    default: break;
    }
    return gf_optim_new(&f->o_out, &c, n);
}

static gf_status optim_compute_wrong_n(fx *f)
{
    gf_real delta[4];
    return gf_optim_compute(f->opt, delta, f->g, f->g, 4);
}

static gf_status clip_multi_null_entry(fx *f)
{
    gf_real *gs[2] = {f->g, NULL};
    size_t ns[2] = {4, 3};
    return gf_clip_norm_multi(gs, NULL, ns, 2, 1.0);
}

static gf_status telemetry_append_backwards(fx *f)
{
    f->rec.step = 5;
    assert_ok(gf_telemetry_append(f->tel, &f->rec));
    f->rec.step = 4;
    return gf_telemetry_append(f->tel, &f->rec);
}

static gf_status mlp(fx *f, size_t in, size_t width, size_t depth, size_t out, const char *act,
                     gf_rng *rng)
{
    gf_mlp_spec spec = {in, width, depth, out, act, NAN, NULL};
    return gf_net_new_mlp(&f->n_out, &spec, rng);
}

static gf_status mlp_lsuv(fx *f)
{
    gf_init init = gf_init_default(GF_INIT_LSUV);
    gf_mlp_spec spec = {3, 4, 2, 2, "tanh", NAN, &init};
    return gf_net_new_mlp(&f->n_out, &spec, &f->rng);
}

static gf_status backward_from_wrong_shape(fx *f)
{
    forward_ok(f);
    return gf_net_backward_from(f->net, f->a);
}

static gf_status clip_after_backward(fx *f, gf_clip_kind kind, double threshold)
{
    gf_clip clip = {kind, threshold};
    backward_ok(f);
    return gf_net_clip(f->net, NULL, &clip);
}

static gf_status clip_before_backward(fx *f)
{
    gf_clip clip = {GF_CLIP_NORM, 1.0};
    return gf_net_clip(f->fresh, NULL, &clip);
}

static gf_status step_twice(fx *f)
{
    backward_ok(f);
    assert_ok(gf_net_step(f->net, f->opt));
    return gf_net_step(f->net, f->opt); /* one step per backward pass */
}

static gf_status train_wrong_optim(fx *f)
{
    gf_optim_config sgd = gf_optim_default(GF_OPTIM_SGD);
    double loss;
    assert_ok(gf_optim_new(&f->o_out, &sgd, 5));
    return gf_net_train_step(f->net, &loss, f->x, f->t, f->o_out, GF_LOSS_MSE, NULL);
}

static gf_status train_nan_target(fx *f)
{
    double loss;
    return gf_net_train_step(f->net, &loss, f->x, f->bad_t, f->opt, GF_LOSS_MSE, NULL);
}

static gf_status gradcheck(fx *f, gf_net *net, const gf_tensor *x, double h, double floor_,
                           gf_gradcheck_layer *result)
{
    gf_gradcheck_options o = {h, floor_, 0};
    return gf_net_gradcheck(net, result, NULL, x, f->t, GF_LOSS_MSE, &o);
}

static gf_status model_wrong_optim(fx *f)
{
    gf_optim_config c = gf_optim_default(GF_OPTIM_ADAM);
    assert_ok(gf_optim_new(&f->o_out, &c, 3));
    return gf_model_save_memory(&f->mem_out, &f->size_out, f->net, f->o_out, NULL);
}

static gf_status model_garbage(fx *f)
{
    static const char text[] = "GFMODEL is what this file is not";
    return gf_model_load_memory(&f->n_out, &f->o_out, NULL, text, sizeof text);
}

static gf_status empty_csv(fx *f)
{
    FILE *file = fopen(tmp_csv, "wb");
    assert_non_null(file);
    fclose(file);
    return gf_data_csv(&f->ds_out, tmp_csv, NULL);
}

static gf_status csv_with(fx *f, const char *text)
{
    FILE *file = fopen(tmp_csv, "wb");
    assert_non_null(file);
    fputs(text, file);
    fclose(file);
    return gf_data_csv(&f->ds_out, tmp_csv, NULL);
}

static gf_status synthetic(fx *f, const char *kind, size_t n)
{
    return gf_data_synthetic(&f->ds_out, kind, n, 0, 0, &f->rng);
}

static gf_status split(fx *f, double fraction)
{
    gf_dataset *all = NULL, *test = NULL;
    gf_status st;
    assert_ok(gf_data_synthetic(&all, "xor", 20, 0, 0, &f->rng));
    st = gf_data_split(&f->ds_out, &test, all, fraction, &f->rng);
    gf_dataset_free(test);
    gf_dataset_free(all);
    return st;
}

static gf_status batcher(fx *f, size_t batch)
{
    gf_dataset *all = NULL;
    gf_batcher *b = NULL;
    gf_status st;
    assert_ok(gf_data_synthetic(&all, "xor", 20, 0, 0, &f->rng));
    st = gf_batcher_new(&b, all, batch, &f->rng);
    gf_batcher_free(b);
    gf_dataset_free(all);
    return st;
}

/* ---- The table ------------------------------------------------------------------------
 * X(name, expected status, call); f is the fixture. */
#define HUGE_N ((size_t)-1)
#define CASES(X)                                                                           \
    /* tensor */                                                                           \
    X(tensor_new_null_out, GF_EINVAL, gf_tensor_new(NULL, 2, 3))                           \
    X(tensor_new_zero_rows, GF_EINVAL, gf_tensor_new(&f->t_out, 0, 3))                     \
    X(tensor_new_zero_cols, GF_EINVAL, gf_tensor_new(&f->t_out, 3, 0))                     \
    X(tensor_new_size_overflow, GF_EINVAL, gf_tensor_new(&f->t_out, HUGE_N, 2))            \
    X(tensor_new_over_limit, GF_EINVAL, gf_tensor_new(&f->t_out, (size_t)1 << 21,         \
                                                       (size_t)1 << 20))                   \
    X(tensor_from_array_null, GF_EINVAL, gf_tensor_from_array(&f->t_out, NULL, 2, 2))      \
    X(tensor_from_array_zero, GF_EINVAL, gf_tensor_from_array(&f->t_out, f->g, 0, 2))      \
    X(tensor_clone_null, GF_EINVAL, gf_tensor_clone(&f->t_out, NULL))                      \
    X(tensor_clone_no_data, GF_EINVAL, gf_tensor_clone(&f->t_out, &f->nodata))             \
    X(tensor_resize_null, GF_EINVAL, gf_tensor_resize_rows(NULL, 3))                       \
    X(tensor_resize_zero, GF_EINVAL, gf_tensor_resize_rows(f->a, 0))                       \
    X(tensor_resize_huge, GF_EINVAL, gf_tensor_resize_rows(f->a, HUGE_N / 2))              \
    X(tensor_copy_shape, GF_ESHAPE, gf_tensor_copy(f->a, f->c))                            \
    X(tensor_copy_null, GF_EINVAL, gf_tensor_copy(NULL, f->a))                             \
    X(tensor_fill_null, GF_EINVAL, gf_tensor_fill(NULL, 1))                                \
    X(tensor_zero_no_data, GF_EINVAL, gf_tensor_zero(&f->nodata))                          \
    X(tensor_add_shape, GF_ESHAPE, gf_tensor_add(f->a, f->a, f->c))                        \
    X(tensor_sub_null_out, GF_EINVAL, gf_tensor_sub(NULL, f->a, f->b))                     \
    X(tensor_mul_out_shape, GF_ESHAPE, gf_tensor_mul(f->c, f->a, f->b))                    \
    X(tensor_scale_null, GF_EINVAL, gf_tensor_scale_inplace(NULL, 2))                      \
    X(tensor_axpy_shape, GF_ESHAPE, gf_tensor_axpy(f->a, f->c, 1))                         \
    X(tensor_add_row_shape, GF_ESHAPE, gf_tensor_add_row_inplace(f->a, f->col))            \
    X(tensor_sum_rows_shape, GF_ESHAPE, gf_tensor_sum_rows(f->col, f->a, 0))               \
    X(tensor_sum_cols_shape, GF_ESHAPE, gf_tensor_sum_cols(f->row, f->a, 0))               \
    /* gemm */                                                                             \
    X(gemm_null_a, GF_EINVAL, gf_gemm(f->m22, NULL, f->c, GF_NO_TRANS, GF_NO_TRANS, 1, 0)) \
    X(gemm_inner_mismatch, GF_ESHAPE,                                                      \
      gf_gemm(f->m22, f->a, f->b, GF_NO_TRANS, GF_NO_TRANS, 1, 0))                         \
    X(gemm_c_shape, GF_ESHAPE, gf_gemm(f->a, f->a, f->c, GF_NO_TRANS, GF_NO_TRANS, 1, 0))  \
    X(gemm_bad_trans, GF_EINVAL, gf_gemm(f->m22, f->a, f->c, (gf_trans)7, GF_NO_TRANS, 1, 0)) \
    X(gemm_alias, GF_EINVAL, gf_gemm(f->m22, f->m22, f->m22, GF_NO_TRANS, GF_TRANS, 1, 0))  \
    X(gemm_c_no_data, GF_EINVAL,                                                           \
      gf_gemm(&f->nodata, f->a, f->c, GF_NO_TRANS, GF_NO_TRANS, 1, 0))                     \
    /* act */                                                                              \
    X(activation_unknown, GF_ENOTFOUND, gf_activation_find(&(const gf_activation *){0}, "swish2")) \
    X(activation_null_name, GF_EINVAL, gf_activation_find(&(const gf_activation *){0}, NULL)) \
    X(activation_null_out, GF_EINVAL, gf_activation_find(NULL, "relu"))                    \
    /* layer */                                                                            \
    X(layer_linear_null, GF_EINVAL, gf_layer_linear(NULL, 3, 2))                           \
    X(layer_linear_zero_in, GF_EINVAL, gf_layer_linear(&f->layer, 0, 2))                   \
    X(layer_linear_zero_out, GF_EINVAL, gf_layer_linear(&f->layer, 3, 0))                  \
    X(layer_linear_huge, GF_EINVAL, gf_layer_linear(&f->layer, (size_t)1 << 30, (size_t)1 << 30)) \
    X(layer_activation_null_act, GF_EINVAL, gf_layer_activation(&f->layer, 3, NULL, 0))    \
    X(layer_activation_nan_param, GF_EINVAL,                                               \
      gf_layer_activation(&f->layer, 3, gf_activation_at(0), (gf_real)NAN))                \
    X(layer_activation_zero_n, GF_EINVAL, gf_layer_activation(&f->layer, 0, gf_activation_at(0), 0)) \
    X(layer_prelu_inf_slope, GF_EINVAL, gf_layer_prelu(&f->layer, 3, (gf_real)INFINITY))   \
    X(layer_prelu_zero_n, GF_EINVAL, gf_layer_prelu(&f->layer, 0, (gf_real)0.25))          \
    X(layer_forward_unbound, GF_ESTATE, unbound_linear_forward(f))                         \
    X(layer_forward_wrong_input, GF_ESHAPE, layer_forward_wrong_input(f))                  \
    X(layer_backward_wrong_dy, GF_ESHAPE, layer_backward_wrong_dy(f))                      \
    /* loss */                                                                             \
    X(loss_name_unknown, GF_ENOTFOUND, gf_loss_from_name(&(gf_loss_kind){0}, "hinge2"))    \
    X(loss_name_null, GF_EINVAL, gf_loss_from_name(&(gf_loss_kind){0}, NULL))              \
    X(loss_bad_kind, GF_EINVAL, gf_loss_compute(&f->d, NULL, f->t, f->t, (gf_loss_kind)42)) \
    X(loss_shape, GF_ESHAPE, gf_loss_compute(&f->d, NULL, f->t, f->a, GF_LOSS_MSE))        \
    X(loss_null_out, GF_EINVAL, gf_loss_compute(NULL, NULL, f->t, f->t, GF_LOSS_MSE))      \
    X(loss_null_y, GF_EINVAL, gf_loss_compute(&f->d, NULL, NULL, f->t, GF_LOSS_MSE))       \
    X(loss_nan_target, GF_EINVAL, gf_loss_compute(&f->d, NULL, f->t, f->bad_t, GF_LOSS_MSE)) \
    X(loss_class_out_of_range, GF_EINVAL, loss_class_out_of_range(f))                      \
    X(loss_class_fractional, GF_EINVAL, loss_class_fractional(f))                          \
    X(loss_bce_target_outside, GF_EINVAL, loss_bce_target_outside(f))                      \
    X(loss_dy_shape, GF_ESHAPE, gf_loss_compute(&f->d, f->a, f->t, f->t, GF_LOSS_MSE))     \
    X(accuracy_null, GF_EINVAL, gf_accuracy(NULL, f->t, f->cls))                           \
    X(accuracy_shape, GF_ESHAPE, gf_accuracy(&f->d, f->t, f->a))                           \
    /* init */                                                                             \
    X(init_name_unknown, GF_ENOTFOUND, gf_init_from_name(&(gf_init){0}, "xavier3"))        \
    X(init_name_null, GF_EINVAL, gf_init_from_name(&(gf_init){0}, NULL))                   \
    X(init_validate_null, GF_EINVAL, gf_init_validate(NULL))                               \
    X(init_validate_bad_kind, GF_EINVAL, gf_init_validate(&(gf_init){.kind = (gf_init_kind)99})) \
    X(init_negative_std, GF_EINVAL, init_bad(f, GF_INIT_NORMAL, 0, -1))                    \
    X(init_nan_mean, GF_EINVAL, init_bad(f, GF_INIT_NORMAL, 1, NAN))                       \
    X(init_low_above_high, GF_EINVAL, init_bad(f, GF_INIT_UNIFORM, 2, 5))                  \
    X(init_zero_gain, GF_EINVAL, init_bad(f, GF_INIT_XAVIER_NORMAL, 3, 0))                 \
    X(init_inf_value, GF_EINVAL, init_bad(f, GF_INIT_CONSTANT, 4, INFINITY))               \
    X(init_nan_slope, GF_EINVAL, init_bad(f, GF_INIT_HE_NORMAL, 5, NAN))                   \
    X(init_inf_bias, GF_EINVAL, init_bad(f, GF_INIT_ZEROS, 6, -INFINITY))                  \
    X(init_tensor_null_rng, GF_EINVAL, init_tensor_null_rng(f))                            \
    X(init_tensor_null_w, GF_EINVAL, gf_init_tensor(NULL, &(gf_init){0}, &f->rng))         \
    X(net_init_null_net, GF_EINVAL, gf_net_init(NULL, &(gf_init){0}, &f->rng))             \
    X(net_init_bad_init, GF_EINVAL, net_init_bad_init(f))                                  \
    X(lsuv_nan_tol, GF_EINVAL, lsuv(f, f->x, NAN, 10))                                     \
    X(lsuv_zero_iter, GF_EINVAL, lsuv(f, f->x, 0.1, 0))                                    \
    X(lsuv_shape, GF_ESHAPE, lsuv(f, f->c, 0.1, 10))                                       \
    /* optim */                                                                            \
    X(optim_name_unknown, GF_ENOTFOUND, gf_optim_from_name(&(gf_optim_kind){0}, "adamw2")) \
    X(optim_name_null, GF_EINVAL, gf_optim_from_name(&(gf_optim_kind){0}, NULL))           \
    X(optim_new_null_config, GF_EINVAL, gf_optim_new(&f->o_out, NULL, 4))                  \
    X(optim_new_null_out, GF_EINVAL, gf_optim_new(NULL, &(gf_optim_config){0}, 4))         \
    X(optim_zero_lr, GF_EINVAL, optim_with(f, GF_OPTIM_SGD, 0, 0, 4))                      \
    X(optim_nan_lr, GF_EINVAL, optim_with(f, GF_OPTIM_SGD, 0, NAN, 4))                     \
    X(optim_inf_lr, GF_EINVAL, optim_with(f, GF_OPTIM_ADAM, 0, INFINITY, 4))               \
    X(optim_negative_decay, GF_EINVAL, optim_with(f, GF_OPTIM_SGD, 5, -0.1, 4))            \
    X(optim_momentum_one, GF_EINVAL, optim_with(f, GF_OPTIM_MOMENTUM, 1, 1.0, 4))          \
    X(optim_momentum_negative, GF_EINVAL, optim_with(f, GF_OPTIM_MOMENTUM, 1, -0.5, 4))    \
    X(optim_beta1_nan, GF_EINVAL, optim_with(f, GF_OPTIM_ADAM, 2, NAN, 4))                 \
    X(optim_beta2_inf, GF_EINVAL, optim_with(f, GF_OPTIM_ADAM, 3, INFINITY, 4))            \
    X(optim_eps_zero, GF_EINVAL, optim_with(f, GF_OPTIM_ADAM, 4, 0, 4))                    \
    X(optim_bad_kind, GF_EINVAL, optim_with(f, GF_OPTIM_SGD, 6, 17, 4))                    \
    X(optim_zero_n, GF_EINVAL, optim_with(f, GF_OPTIM_SGD, -1, 0, 0))                      \
    X(optim_huge_n, GF_EINVAL, optim_with(f, GF_OPTIM_ADAM, -1, 0, HUGE_N / 4))            \
    X(optim_compute_wrong_n, GF_ESHAPE, optim_compute_wrong_n(f))                          \
    X(optim_compute_null_delta, GF_EINVAL,                                                 \
      gf_optim_compute(f->opt, NULL, gf_net_params(f->net), gf_net_grads(f->net),          \
                       gf_net_param_count(f->net)))                                        \
    X(optim_set_lr_negative, GF_EINVAL, gf_optim_set_lr(f->opt, -0.1))                     \
    X(optim_set_lr_null, GF_EINVAL, gf_optim_set_lr(NULL, 0.1))                            \
    /* clip */                                                                             \
    X(clip_value_zero_limit, GF_EINVAL, gf_clip_value(f->g, NULL, 4, 0))                   \
    X(clip_value_nan_limit, GF_EINVAL, gf_clip_value(f->g, NULL, 4, NAN))                  \
    X(clip_value_null_g, GF_EINVAL, gf_clip_value(NULL, NULL, 3, 1))                       \
    X(clip_value_nan_in_g, GF_ENONFINITE, gf_clip_value(f->g_nan, NULL, 4, 1))             \
    X(clip_norm_inf_max, GF_EINVAL, gf_clip_norm(f->g, NULL, 4, INFINITY))                 \
    X(clip_norm_negative, GF_EINVAL, gf_clip_norm(f->g, NULL, 4, -1))                      \
    X(clip_norm_nan_in_g, GF_ENONFINITE, gf_clip_norm(f->g_nan, NULL, 4, 1))               \
    X(clip_multi_null_gs, GF_EINVAL, gf_clip_norm_multi(NULL, NULL, (size_t[]){1, 2}, 2, 1)) \
    X(clip_multi_null_entry, GF_EINVAL, clip_multi_null_entry(f))                          \
    /* telemetry */                                                                        \
    X(telemetry_new_null, GF_EINVAL, gf_telemetry_new(NULL))                               \
    X(telemetry_append_null_rec, GF_EINVAL, gf_telemetry_append(f->tel, NULL))             \
    X(telemetry_append_null_t, GF_EINVAL, gf_telemetry_append(NULL, &f->rec))              \
    X(telemetry_append_backwards, GF_EINVAL, telemetry_append_backwards(f))                \
    X(telemetry_reserve_huge, GF_ENOMEM, gf_telemetry_reserve(f->tel, HUGE_N))             \
    X(telemetry_write_null_stream, GF_EINVAL, gf_telemetry_write_csv(f->tel, NULL))        \
    X(telemetry_save_null_path, GF_EINVAL, gf_telemetry_save_csv(f->tel, NULL))            \
    X(telemetry_save_bad_dir, GF_EIO, gf_telemetry_save_csv(f->tel, "no_such_dir_gf/t.csv")) \
    X(telemetry_stream_bad_dir, GF_EIO, gf_telemetry_stream_to(f->tel, "no_such_dir_gf/t.csv")) \
    X(record_write_null, GF_EINVAL, gf_record_write_csv(NULL, stdout))                     \
    /* net */                                                                              \
    X(net_new_null, GF_EINVAL, gf_net_new(NULL, 3))                                        \
    X(net_new_zero_in, GF_EINVAL, gf_net_new(&f->n_out, 0))                                \
    X(net_new_huge_in, GF_EINVAL, gf_net_new(&f->n_out, HUGE_N))                           \
    X(net_add_linear_null, GF_EINVAL, gf_net_add_linear(NULL, 3))                          \
    X(net_add_linear_zero, GF_EINVAL, gf_net_add_linear(f->net, 0))                        \
    X(net_add_linear_huge, GF_EINVAL, gf_net_add_linear(f->net, HUGE_N))                   \
    X(net_add_activation_unknown, GF_ENOTFOUND, gf_net_add_activation(f->net, "relu7"))    \
    X(net_add_activation_null, GF_EINVAL, gf_net_add_activation(f->net, NULL))             \
    X(net_add_activation_nan, GF_EINVAL, gf_net_add_activation_param(f->net, "elu", NAN))  \
    X(net_add_prelu_nan, GF_EINVAL, gf_net_add_prelu(f->net, NAN))                         \
    X(net_add_layer_null, GF_EINVAL, gf_net_add_layer(f->net, NULL))                       \
    X(net_add_layer_wrong_width, GF_ESHAPE, add_layer_wrong_width(f))                      \
    X(net_add_layer_no_ops, GF_EINVAL, add_layer_no_ops(f))                                \
    X(mlp_null_spec, GF_EINVAL, gf_net_new_mlp(&f->n_out, NULL, &f->rng))                  \
    X(mlp_zero_depth, GF_EINVAL, mlp(f, 3, 4, 0, 2, "relu", &f->rng))                      \
    X(mlp_zero_width, GF_EINVAL, mlp(f, 3, 0, 3, 2, "relu", &f->rng))                      \
    X(mlp_unknown_act, GF_ENOTFOUND, mlp(f, 3, 4, 2, 2, "relu9", &f->rng))                 \
    X(mlp_null_act, GF_EINVAL, mlp(f, 3, 4, 2, 2, NULL, &f->rng))                          \
    X(mlp_null_rng, GF_EINVAL, mlp(f, 3, 4, 2, 2, "relu", NULL))                           \
    X(mlp_lsuv_needs_data, GF_EINVAL, mlp_lsuv(f))                                         \
    X(net_forward_shape, GF_ESHAPE, gf_net_forward(f->net, NULL, f->c))                    \
    X(net_forward_null_x, GF_EINVAL, gf_net_forward(f->net, NULL, NULL))                   \
    X(net_forward_null_net, GF_EINVAL, gf_net_forward(NULL, NULL, f->x))                   \
    X(net_forward_no_layers, GF_ESTATE, gf_net_forward(f->empty, NULL, f->x))              \
    X(net_predict_no_data, GF_EINVAL, gf_net_predict(f->net, NULL, &f->nodata))            \
    X(net_loss_before_forward, GF_ESTATE, gf_net_loss(f->fresh, &f->d, f->t, GF_LOSS_MSE)) \
    X(net_loss_wrong_target, GF_ESHAPE,                                                    \
      (forward_ok(f), gf_net_loss(f->net, &f->d, f->a, GF_LOSS_MSE)))                      \
    X(net_backward_before_loss, GF_ESTATE, (forward_ok(f), gf_net_backward(f->net)))       \
    X(net_backward_from_shape, GF_ESHAPE, backward_from_wrong_shape(f))                    \
    X(net_backward_from_null, GF_EINVAL, (forward_ok(f), gf_net_backward_from(f->net, NULL))) \
    X(net_step_before_backward, GF_ESTATE, gf_net_step(f->fresh, f->opt))                  \
    X(net_step_twice, GF_ESTATE, step_twice(f))                                            \
    X(net_step_null_opt, GF_EINVAL, (backward_ok(f), gf_net_step(f->net, NULL)))           \
    X(net_clip_nan_threshold, GF_EINVAL, clip_after_backward(f, GF_CLIP_NORM, NAN))        \
    X(net_clip_zero_threshold, GF_EINVAL, clip_after_backward(f, GF_CLIP_VALUE, 0))        \
    X(net_clip_bad_kind, GF_EINVAL, clip_after_backward(f, (gf_clip_kind)9, 1))            \
    X(net_clip_before_backward, GF_ESTATE, clip_before_backward(f))                        \
    X(net_record_every_zero, GF_EINVAL, gf_net_set_record_every(f->net, 0))                \
    X(net_last_records_none, GF_ESTATE,                                                    \
      gf_net_last_records(f->fresh, &(const gf_record *){0}, &(size_t){0}))                \
    X(net_train_wrong_optim, GF_ESHAPE, train_wrong_optim(f))                              \
    X(net_train_nan_target, GF_EINVAL, train_nan_target(f))                                \
    X(net_train_null_opt, GF_EINVAL,                                                       \
      gf_net_train_step(f->net, &f->d, f->x, f->t, NULL, GF_LOSS_MSE, NULL))               \
    /* gradcheck */                                                                        \
    X(gradcheck_null_net, GF_EINVAL, gradcheck(f, NULL, f->x, 0, 0, f->gc))                \
    X(gradcheck_null_result, GF_EINVAL, gradcheck(f, f->net, f->x, 0, 0, NULL))            \
    X(gradcheck_negative_h, GF_EINVAL, gradcheck(f, f->net, f->x, -1e-3, 0, f->gc))        \
    X(gradcheck_nan_floor, GF_EINVAL, gradcheck(f, f->net, f->x, 0, NAN, f->gc))           \
    X(gradcheck_no_layers, GF_ESTATE, gradcheck(f, f->empty, f->x, 0, 0, f->gc))           \
    X(gradcheck_shape, GF_ESHAPE, gradcheck(f, f->net, f->c, 0, 0, f->gc))                 \
    /* model */                                                                            \
    X(model_save_null_path, GF_EINVAL, gf_model_save(NULL, f->net, NULL, NULL))            \
    X(model_save_null_net, GF_EINVAL, gf_model_save("test_badinput.gfm", NULL, NULL, NULL)) \
    X(model_save_bad_dir, GF_EIO, gf_model_save("no_such_dir_gf/m.gfm", f->net, NULL, NULL)) \
    X(model_save_wrong_optim, GF_ESHAPE, model_wrong_optim(f))                             \
    X(model_load_null_out, GF_EINVAL, gf_model_load(NULL, NULL, NULL, "m.gfm"))            \
    X(model_load_missing, GF_EIO, gf_model_load(&f->n_out, NULL, NULL, "no_such_dir_gf/m.gfm")) \
    X(model_load_garbage, GF_EFORMAT, model_garbage(f))                                    \
    X(model_load_null_data, GF_EINVAL, gf_model_load_memory(&f->n_out, NULL, NULL, NULL, 8)) \
    /* data */                                                                             \
    X(dataset_new_zero_rows, GF_EINVAL, gf_dataset_new(&f->ds_out, 0, 3, 1, 2, "x"))       \
    X(data_csv_null_path, GF_EINVAL, gf_data_csv(&f->ds_out, NULL, NULL))                  \
    X(data_csv_missing, GF_EIO, gf_data_csv(&f->ds_out, "no_such_dir_gf/d.csv", NULL))     \
    X(data_csv_empty, GF_EFORMAT, empty_csv(f))                                            \
    X(data_csv_not_a_number, GF_EFORMAT, csv_with(f, "1,2,0\n3,abc,1\n"))                 \
    X(data_csv_ragged, GF_EFORMAT, csv_with(f, "1,2,0\n3,1\n"))                           \
    X(data_csv_one_column, GF_EFORMAT, csv_with(f, "1\n2\n"))                              \
    X(data_idx_missing, GF_EIO, gf_data_idx(&f->ds_out, "no_such_gf_i", "no_such_gf_l"))   \
    X(data_synthetic_unknown, GF_ENOTFOUND, synthetic(f, "spirals3", 10))                  \
    X(data_synthetic_null_kind, GF_EINVAL, synthetic(f, NULL, 10))                         \
    X(data_split_nan_fraction, GF_EINVAL, split(f, NAN))                                   \
    X(data_split_fraction_one, GF_EINVAL, split(f, 1.0))                                   \
    X(data_batcher_zero_batch, GF_EINVAL, batcher(f, 0))                                   \
    X(data_evaluate_null_net, GF_EINVAL, gf_evaluate(NULL, NULL, NULL, NULL, GF_LOSS_MSE, 4))

#define DEFINE_CASE(name, expected, call)                                                  \
    static gf_status case_##name(fx *f)                                                    \
    {                                                                                      \
        (void)f;                                                                           \
        return (call);                                                                     \
    }
CASES(DEFINE_CASE)

typedef struct bad_case {
    const char *name;
    gf_status (*run)(fx *f);
    gf_status expected;
} bad_case;

#define CASE_ROW(name, expected, call) {#name, case_##name, expected},
static const bad_case cases[] = {CASES(CASE_ROW)};
#define N_CASES (sizeof cases / sizeof cases[0])

/* One case: the documented status, a message, and (in teardown) no leak. */
static void run_case(void **state)
{
    slot *s = *state;
    gf_status st;
    gf_clear_error();
    st = s->c->run(s->f);
    if (st != s->c->expected)
        fail_msg("%s: returned %s, documented %s; message: \"%s\"", s->c->name,
                 gf_strerror(st), gf_strerror(s->c->expected), gf_last_error());
    if (gf_last_error()[0] == '\0')
        fail_msg("%s: returned %s without a detail message", s->c->name, gf_strerror(st));
}

/* Functions that return a value rather than a status answer a neutral value for NULL or
 * out-of-range arguments, and the free functions accept NULL. */
static void value_functions_accept_bad_arguments(void **state)
{
    (void)state;
    assert_int_equal(gf_tensor_size(NULL), 0);
    assert_true(isnan(gf_tensor_norm2(NULL)));
    assert_true(isnan(gf_tensor_norm_max(NULL)));
    assert_true(isnan(gf_tensor_sum(NULL)));
    assert_true(isnan(gf_tensor_dot(NULL, NULL)));
    assert_int_equal(gf_tensor_count_nonfinite(NULL), 0);
    assert_true(isnan(gf_array_norm2(NULL, 3)));
    assert_true(gf_array_norm2(NULL, 0) == 0);
    assert_null(gf_activation_at(gf_activation_count()));
    assert_null(gf_loss_name((gf_loss_kind)-1));
    assert_null(gf_loss_name(GF_LOSS_COUNT));
    assert_null(gf_init_name(GF_INIT_COUNT));
    assert_null(gf_optim_name((gf_optim_kind)99));
    assert_null(gf_clip_name(GF_CLIP_COUNT));
    assert_string_equal(gf_strerror((gf_status)1000), "unknown status");
    assert_string_equal(gf_strerror((gf_status)-1), "unknown status");
    assert_null(gf_net_layer(NULL, 0));
    assert_null(gf_net_layer_kind(NULL, 0));
    assert_int_equal(gf_net_layer_count(NULL), 0);
    assert_int_equal(gf_net_param_count(NULL), 0);
    assert_null(gf_net_params(NULL));
    assert_null(gf_net_activation(NULL, 0));
    assert_null(gf_net_activation_grad(NULL, 0));
    assert_int_equal(gf_net_step_count(NULL), 0);
    assert_null(gf_net_telemetry(NULL));
    assert_null(gf_optim_config_of(NULL));
    assert_null(gf_optim_state(NULL, NULL, 0));
    assert_int_equal(gf_telemetry_count(NULL), 0);
    assert_null(gf_telemetry_at(NULL, 0));
    assert_null(gf_telemetry_find(NULL, 0, 0));
    assert_int_equal(gf_rng_below(NULL, 10), 0);
    assert_true(isnan(gf_rng_uniform(NULL)));
    assert_int_equal(gf_crc32(7, NULL, 10), 7);
    gf_net_set_step_count(NULL, 3);
    gf_net_set_input_grad(NULL, 1);
    gf_net_set_skip_nonfinite(NULL, 1);
    gf_optim_set_steps(NULL, 3);
    gf_telemetry_clear(NULL);
    gf_layer_release(NULL);
    gf_tensor_free(NULL);
    gf_net_free(NULL);
    gf_optim_free(NULL);
    gf_telemetry_free(NULL);
    gf_free(NULL);
}

/* ---- The memory budget (issue 16) ----------------------------------------------------- */

/* gf_net_plan_bytes against counts done by hand. */
static void plan_bytes_known_figures(void **state)
{
    gf_net_plan p = gf_net_plan_default();
    size_t params = 0, acts = 0, r = sizeof(gf_real);
    (void)state;
    /* 3 -> linear 4 -> act -> linear 2: (3*4 + 4) + (4*2 + 2) = 26 parameters; boundaries
     * 3 + 4 + 4 + 2 = 13 values a row, each with its gradient, 5 rows. */
    p.in = 3, p.width = 4, p.depth = 2, p.out = 2, p.batch = 5;
    assert_int_equal(gf_net_plan_bytes(&params, &acts, &p), GF_OK);
    assert_int_equal(params, 26 * 2 * r);
    assert_int_equal(acts, 2 * 13 * 5 * r);
    p.optim = GF_OPTIM_ADAM; /* two moments more per parameter */
    assert_int_equal(gf_net_plan_bytes(&params, NULL, &p), GF_OK);
    assert_int_equal(params, 26 * 4 * r);
    /* With a norm after the hidden layer: + 2*4 parameters, + 4 boundary values. */
    p.optim = GF_OPTIM_SGD, p.norm = 1;
    assert_int_equal(gf_net_plan_bytes(&params, &acts, &p), GF_OK);
    assert_int_equal(params, 34 * 2 * r);
    assert_int_equal(acts, 2 * 17 * 5 * r);
    /* An rnn of H = 2 over T = 3 steps of 1 feature, then linear 2 -> 1, batch 1:
     * 1*(2*1 + 2*2 + 2) + (2 + 1) = 11 parameters; h_0..h_3 and one gate value a step,
     * (3+1)*2 + 3*2 = 14, plus the step buffers 4*1*2*1 = 8; boundaries 3 + 2 + 1. */
    p = gf_net_plan_default();
    p.in = 3, p.out = 1, p.batch = 1, p.cell = GF_RNN_TANH, p.hidden = 2, p.steps = 3;
    assert_int_equal(gf_net_plan_bytes(&params, &acts, &p), GF_OK);
    assert_int_equal(params, 11 * 2 * r);
    assert_int_equal(acts, (2 * 6 + 14 + 8) * r);
    /* Products past size_t saturate instead of wrapping. */
    p = gf_net_plan_default();
    p.in = p.out = p.width = (size_t)1 << 40, p.depth = 3, p.batch = (size_t)1 << 40;
    assert_int_equal(gf_net_plan_bytes(&params, &acts, &p), GF_OK);
    assert_true(params == SIZE_MAX && acts == SIZE_MAX);
    /* Bad plans. */
    assert_int_equal(gf_net_plan_bytes(&params, &acts, NULL), GF_EINVAL);
    p = gf_net_plan_default();
    assert_int_equal(gf_net_plan_bytes(&params, &acts, &p), GF_EINVAL);
    p.in = p.out = p.batch = p.width = 4, p.depth = 5, p.residual = 2;
    assert_int_equal(gf_net_plan_bytes(&params, &acts, &p), GF_EINVAL);
    assert_non_null(strstr(gf_last_error(), "not 2 + a multiple of residual 2"));
}

/* Too large for the limit: refused before anything is allocated, with both figures. */
static void budget_refuses_before_allocating(void **state)
{
    gf_mlp_spec spec = {.in = 64, .width = 30000, .depth = 3, .out = 10, .act = "relu"};
    gf_net_plan p = gf_net_plan_default();
    gf_net *net = NULL;
    gf_tensor *x = NULL;
    gf_rng rng;
    (void)state;
    gf_rng_seed(&rng, 1);
    gf_set_memory_limit(1u << 30);
    assert_int_equal(gf_memory_check(1u << 30, "x"), GF_OK);
    assert_int_equal(gf_memory_check((1u << 30) + 1u, "eight rows"), GF_ENOMEM);
    assert_non_null(strstr(gf_last_error(), "eight rows: needs 1073741825 bytes"));
    /* (64*30000 + 30000) + (30000^2 + 30000) + (30000*10 + 10) parameters, twice. */
    assert_int_equal(gf_net_new_mlp(&net, &spec, &rng), GF_ENOMEM);
    assert_null(net);
    assert_non_null(strstr(gf_last_error(), "more than the memory limit of 1.074 GB"));
    p.in = 64, p.width = 30000, p.depth = 3, p.out = 10, p.batch = 1;
    assert_int_equal(gf_net_plan_check(&p), GF_ENOMEM);
    /* A small net, and then a batch whose activations pass a 1 MiB limit. */
    gf_set_memory_limit(1u << 20);
    spec.width = 16;
    assert_int_equal(gf_net_new_mlp(&net, &spec, &rng), GF_OK);
    assert_int_equal(gf_tensor_new(&x, 4096, 64), GF_OK);
    assert_int_equal(gf_net_forward(net, NULL, x), GF_ENOMEM);
    assert_non_null(strstr(gf_last_error(), "a batch of 4096 rows"));
    gf_set_memory_limit(0);
    assert_int_equal(gf_net_forward(net, NULL, x), GF_OK);
    gf_tensor_free(x);
    gf_net_free(net);
    /* The default: at most a quarter of physical memory, and at most half of an
     * address-space limit. */
    {
        struct rlimit old, cap;
        assert_int_equal(getrlimit(RLIMIT_AS, &old), 0);
        cap.rlim_cur = (rlim_t)1 << 36, cap.rlim_max = old.rlim_max;
        if (old.rlim_max == RLIM_INFINITY || old.rlim_max >= cap.rlim_cur) {
            assert_int_equal(setrlimit(RLIMIT_AS, &cap), 0);
            assert_true(gf_memory_limit_default() <= (size_t)1 << 35);
            assert_int_equal(setrlimit(RLIMIT_AS, &old), 0);
        }
    }
    assert_true(gf_memory_limit() == gf_memory_limit_default());
}

int main(void)
{
    static slot slots[N_CASES];
    struct CMUnitTest tests[N_CASES + 3];
    for (size_t i = 0; i < N_CASES; i++) {
        slots[i].c = &cases[i];
        tests[i] = (struct CMUnitTest){cases[i].name, run_case, setup, teardown, &slots[i]};
    }
    tests[N_CASES] = (struct CMUnitTest){"value_functions_accept_bad_arguments",
                                         value_functions_accept_bad_arguments, NULL, NULL,
                                         NULL};
    tests[N_CASES + 1] = (struct CMUnitTest){"plan_bytes_known_figures",
                                             plan_bytes_known_figures, NULL, NULL, NULL};
    tests[N_CASES + 2] = (struct CMUnitTest){"budget_refuses_before_allocating",
                                             budget_refuses_before_allocating, NULL, NULL,
                                             NULL};
    print_message("%zu bad-input cases\n", (size_t)N_CASES);
    return _cmocka_run_group_tests("badinput", tests, N_CASES + 3, NULL, NULL);
}
