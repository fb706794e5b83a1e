/* tests/tool/test_cli_views.c: what the tool shows and lists: every --act name in
 * `gradflow list`, captions for figures the HTML page does not know, the gradient through
 * time in every comparison of recurrent runs, runs aligned at the output (--align output),
 * and sweeps over seeds. Each read back from the files written. */
#include "test_cli.h"

/* 1 when "  NAME " opens a line of text (a row of `gradflow list`). */
static int lists_row(const char *text, const char *name)
{
    char row[96];
    snprintf(row, sizeof row, "\n  %s ", name);
    return strstr(text, row) != NULL;
}

/* Every name --act accepts is a row of `gradflow list activations`, and every name there is
 * accepted. The names come from three places that must agree: the activation table, the
 * registry's activation layers of a kind of their own (prelu), and what --act's own
 * message says it knows. */
void every_accepted_act_is_listed(void **state)
{
    output o, l;
    char known[1024], *p, *name;
    size_t n_known = 0;
    (void)state;
    RUN(&l, "list", "activations");
    expect_status(&l, 0);
    RUN(&o, "run", "--act", "no_such_act", "--plot", "none", "--out", "act-none");
    expect_status(&o, 2);
    p = strstr(o.err, "known: ");
    assert_non_null(p);
    snprintf(known, sizeof known, "%s", p + 7);
    known[strcspn(known, ")\n")] = '\0';
    for (name = strtok(known, ", "); name != NULL; name = strtok(NULL, ", "), n_known++) {
        output r;
        if (!lists_row(l.out, name))
            fail_msg("--act accepts '%s' but `gradflow list` does not show it", name);
        RUN(&r, "run", "--act", name, "--depth", "3", "--width", "8", "--steps", "1",
            "--plot", "none", "--quiet", "--out", "act-one");
        if (r.status != 0)
            fail_msg("--act %s is listed but refused: %s", name, r.err);
    }
    for (size_t i = 0; i < gf_activation_count(); i++)
        assert_true(lists_row(l.out, gf_activation_at(i)->name));
    size_t own = 0;
    for (size_t i = 0; i < gf_layer_kind_count(); i++) {
        const gf_layer_kind *k = gf_layer_kind_at(i);
        if (!(k->traits & GF_KIND_ACTIVATION) || strcmp(k->name, "activation") == 0)
            continue;
        own++;
        if (!lists_row(l.out, k->name))
            fail_msg("the activation kind '%s' is not in `gradflow list`", k->name);
    }
    assert_true(own >= 1); /* prelu */
    assert_true(lists_row(l.out, "prelu"));
    assert_int_equal(n_known, gf_activation_count() + own);
}

/* A figure the page has no caption for gets one: the title its script gives it, else its
 * name in words; never a bare pointer to the docs. */
void unknown_figures_get_a_caption(void **state)
{
    static const char svg[] = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"10\" "
                              "height=\"10\"></svg>\n";
    output o;
    char buf[65536], p[600];
    FILE *f;
    (void)state;
    mkdir(path_of(p, sizeof p, "cap"), 0777);
    f = fopen(path_of(p, sizeof p, "cap/grad_noise.svg"), "w");
    assert_non_null(f);
    fputs(svg, f);
    fclose(f);
    f = fopen(path_of(p, sizeof p, "cap/grad_noise.gp"), "w");
    assert_non_null(f);
    fputs("# a figure of the user's own\nset terminal svg\n"
          "set multiplot layout 1,2 title 'Gradient noise, it''s large' noenhanced\n", f);
    fclose(f);
    f = fopen(path_of(p, sizeof p, "cap/weight_norms.svg"), "w");
    assert_non_null(f);
    fputs(svg, f);
    fclose(f);
    RUN(&o, "run", "--depth", "3", "--width", "8", "--steps", "2", "--plot", "none",
        "--quiet", "--out", "cap");
    expect_status(&o, 0);
    read_file(buf, sizeof buf, path_of(p, sizeof p, "cap/index.html"));
    assert_non_null(strstr(buf, "<b>grad_noise</b>: Gradient noise, it&#39;s large (data in "
                                "grad_noise.dat, drawn by grad_noise.gp).</figcaption>"));
    assert_non_null(strstr(buf, "<b>weight_norms</b>: Weight norms (data in "));
    /* Every figure on the page has a caption of more than its name. */
    size_t figures = 0;
    for (char *q = strstr(buf, "<figcaption>"); q != NULL; q = strstr(q + 1, "<figcaption>")) {
        char *colon = strstr(q, "</b>: "), *end = strstr(q, "</figcaption>");
        assert_non_null(colon);
        assert_true(colon < end && end - colon > 12);
        figures++;
    }
    assert_int_equal(figures, 2);
    assert_null(strstr(buf, "(see docs/figures.md)"));
}
