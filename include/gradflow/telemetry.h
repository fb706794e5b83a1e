/* gradflow/telemetry.h: the per-step, per-layer records every backward pass writes.
 * Kept in memory by the network; exported as CSV (columns documented in
 * docs/file-formats.md and below, in order). A figure that does not apply to a layer
 * (a weight norm for a sigmoid layer) is NaN, written as an empty CSV field. */
#ifndef GRADFLOW_TELEMETRY_H
#define GRADFLOW_TELEMETRY_H

#include <stdio.h>

#include "gradflow/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Saturation: an activation value counts as saturated when |f'(x)| < this fraction of
 * sup |f'| (only for activations whose table row is marked saturating). */
#define GF_SATURATION_FRACTION 0.05

/* Bytes of gf_record.kind, with its NUL: longer kind names are cut to 31 characters. */
#define GF_RECORD_KIND_SIZE 32

typedef struct gf_record {
    uint64_t step;            /* 0-based count of backward passes before this one */
    uint32_t layer;           /* 0-based index in the network */
    char kind[GF_RECORD_KIND_SIZE]; /* the layer's kind, a copy: "linear", "rnn", a layer
                                 of your own's; an activation layer's activation,
                                 "sigmoid" (gf_layer_kind_traits tells which is which) */
    double loss;              /* the loss of this step (NaN when backward_from was used) */
    double grad_out_norm;     /* ||dL/dh||: the backward signal arriving at the layer's
                                 output; judge vanishing/exploding from this */
    double grad_in_norm;      /* ||dL/dx||: the signal the layer passes to its input */
    double weight_grad_norm;  /* ||dL/dW||; NaN for layers without weights */
    double bias_grad_norm;    /* ||dL/db||; NaN without bias */
    double weight_norm;       /* ||W|| before this step's update */
    double update_ratio;      /* ||delta W|| / ||W|| of the update applied; NaN until a
                                 step is taken for this record */
    double clip_pre_norm;     /* norm of the layer's parameter gradient before clipping;
                                 NaN when no clipping was done */
    double clip_post_norm;    /* ... and after */
    double act_mean;          /* mean of the layer's output y over the batch */
    double act_std;           /* standard deviation of y */
    double deriv_abs_mean;    /* activations: mean |f'(x)|; NaN for other layers */
    double zero_frac;         /* fraction of outputs exactly 0 (ReLU sparsity) */
    double dead_frac;         /* activations: fraction of units whose f' is 0 for every
                                 row of the batch */
    double sat_frac;          /* saturating activations: fraction of values with
                                 |f'| < GF_SATURATION_FRACTION sup|f'|; else 0 */
    uint64_t nonfinite_fwd;   /* NaN/inf count in the layer's output y */
    uint64_t nonfinite_bwd;   /* NaN/inf count in dL/dx and the parameter gradients */
} gf_record;

typedef struct gf_telemetry gf_telemetry;

/* A standalone telemetry store (networks own theirs; this is for tools merging runs). */
gf_status gf_telemetry_new(gf_telemetry **out);
void gf_telemetry_free(gf_telemetry *t);

/* Number of records kept, and record i (borrowed; valid until the next append). */
size_t gf_telemetry_count(const gf_telemetry *t);
const gf_record *gf_telemetry_at(const gf_telemetry *t, size_t i);

/* The record of (step, layer), NULL when not recorded. */
const gf_record *gf_telemetry_find(const gf_telemetry *t, uint64_t step, size_t layer);

/* Append a copy of rec. */
gf_status gf_telemetry_append(gf_telemetry *t, const gf_record *rec);

/* Make room for n records in all, so that appending up to there allocates nothing (the
 * store otherwise doubles its storage when full, an amortised O(1) append). */
gf_status gf_telemetry_reserve(gf_telemetry *t, size_t n);

/* Drop every record (keeps the storage). */
void gf_telemetry_clear(gf_telemetry *t);

/* The CSV header line (no newline): the column names in order. */
const char *gf_telemetry_csv_header(void);

/* Write the header and every record as CSV to an open stream / to a file (the file is
 * written to a unique temporary file beside path, created with O_EXCL, then renamed over
 * path, so a crash never leaves half a file and concurrent writers never mix). */
gf_status gf_telemetry_write_csv(const gf_telemetry *t, FILE *stream);
gf_status gf_telemetry_save_csv(const gf_telemetry *t, const char *path);

/* Copy kind into rec->kind, cut to GF_RECORD_KIND_SIZE - 1 bytes, with any comma, quote
 * or control character (which the CSV cannot hold) replaced by '_'; NULL: "". */
void gf_record_set_kind(gf_record *rec, const char *kind);

/* Write one record as a CSV line (with newline). */
gf_status gf_record_write_csv(const gf_record *rec, FILE *stream);

/* Stream records to a CSV file: the header now, then the records of each step once the
 * step is complete (a network flushes at the start of the next backward pass and when
 * freed). Each flush formats all its lines into one buffer and hands it to the system
 * in one write(2), whatever the depth, so the file holds whole lines after kill -9; a
 * write that fails part way (disk full: ENOSPC, a file size limit: EFBIG) cuts the file
 * back to its last whole line and returns GF_EIO naming the file and the reason. A
 * symbolic link at path is refused (O_NOFOLLOW). NULL path stops streaming (and closes
 * the file after a final flush). */
gf_status gf_telemetry_stream_to(gf_telemetry *t, const char *path);

/* Write the records not yet streamed (one write); GF_OK when not streaming. On failure
 * they stay unstreamed and the file ends with the last whole line written. */
gf_status gf_telemetry_flush(gf_telemetry *t);

#ifdef __cplusplus
}
#endif
#endif
