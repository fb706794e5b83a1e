/* tests/test_model.h: what the three sources of the model-file test program share
 * (test_model.c: helpers, CRC, round trips, resuming; test_model_layers.c: damaged
 * files and the layer kinds added after the first three; test_model_compat.c: version-1
 * fixtures, atomic saving, kinds of your own, bad arguments). */
#ifndef GRADFLOW_TEST_MODEL_H
#define GRADFLOW_TEST_MODEL_H

#include "testutil.h"

#include <stdio.h>

#include "gradflow.h"

/* ---- Resuming bit for bit (test_model.c) ---- */
enum { DATA_ROWS = 32, BATCH = 8, TOTAL_STEPS = 20, STOP_AT = 7 };

typedef struct dataset {
    gf_tensor *x, *t;   /* (32, 4), (32, 2) */
    gf_tensor *xb, *tb; /* a minibatch */
} dataset;

/* ---- test_model.c ---- */
void write_bytes(const char *path, const void *data, size_t n);

/* The whole file at path into a malloc'ed buffer; NULL when it does not exist. */
unsigned char *read_bytes(const char *path, size_t *n);

int file_exists(const char *path);

/* The temporary files of saves to dir/base left in dir: base.<12 hex digits>.tmp. */
size_t temporaries_of(const char *dir, const char *base);

/* Rewrite the trailing CRC-32 after patching a file's bytes. */
void fix_crc(unsigned char *buf, size_t n);

/* Replace the first occurrence of `from` with `to` (same length) and fix the CRC. */
void patch_string(unsigned char *buf, size_t n, const char *from, const char *to);

/* Two generators in the same state (field by field: the struct has padding). */
void assert_same_rng(const gf_rng *a, const gf_rng *b);

/* A small network of every kind the format stores, He-initialised. */
gf_net *small_net(gf_rng *rng);

gf_optim *make_optim(gf_optim_kind kind, size_t n);

void dataset_make(dataset *d);

void dataset_free(dataset *d);

/* Train `steps` steps; losses[i] receives the loss of step first + i. */
void train(gf_net *net, gf_optim *opt, gf_rng *rng, dataset *d, size_t first,
           size_t steps, double *losses);

void resume_is_bit_for_bit(gf_optim_kind kind, gf_net *(*make)(gf_rng *));

/* ---- test_model_layers.c ---- */
/* Load must fail with a message, return nothing and leave the generator alone. */
gf_status load_refused(const void *data, size_t n, const char *path);

/* Every layer of b is configured as a's: kinds, sizes, norm eps and momentum, batch-norm
 * running statistics (same bits), recurrent cells, steps, widths and flags, residual
 * blocks paired alike. Returns the batch-norm layers seen. */
int same_layers(gf_net *a, gf_net *b);

void batchnorm_round_trips(void **state);

void layernorm_round_trips(void **state);

void recurrent_layers_round_trip(void **state);

void residual_blocks_round_trip(void **state);

/* The restored running statistics are what evaluation uses: with the initial ones
 * (mean 0, variance 1) the same parameters predict otherwise. */
void batchnorm_statistics_matter(void **state);

void resume_batchnorm(void **state);

void resume_layernorm(void **state);

void resume_rnn(void **state);

void resume_lstm(void **state);

void resume_gru(void **state);

void resume_residual(void **state);

/* Every corrupted byte and every truncation refused (checksum); with the checksum
 * repaired, every corrupted byte is refused with a message or loads into a network that
 * saves back to the same bytes. */
void added_kinds_damaged_files_are_refused(void **state);

/* Find `kind` as a layer record's name; return the offset of its payload. */
size_t payload_of(const unsigned char *buf, size_t n, const char *kind);

void put_le(unsigned char *d, uint64_t v, int bytes);

/* Consistent checksums over inconsistent payloads of the added kinds. */
void added_kinds_bad_payloads_are_refused(void **state);

/* Residual blocks nested 9 deep (more than version 1 could hold) are flat now: they save
 * (as version 2) and load as the same network. */
void deep_nesting_is_flat(void **state);

/* The two getters model files need, on layers of other kinds. */
void getters_refuse_other_layers(void **state);

void corrupted_byte_at_every_offset_is_refused(void **state);

void truncation_at_every_length_is_refused(void **state);

void foreign_files_are_named_as_such(void **state);

void future_and_zero_versions_are_refused(void **state);

void unknown_kinds_are_named(void **state);

/* Consistent checksums over inconsistent contents: each refused as malformed. */
void inconsistent_contents_are_refused(void **state);

/* ---- test_model_compat.c ---- */
/* A float file loads in both builds (widened exactly in a double build); a double file
 * loads in a double build and is refused by a float build, which would round it. */
void version_1_fixtures_load(void **state);

/* A version-1 file with nested residual blocks (tests/fixtures, written before blocks were
 * flat) loads flattened: skip_begin, F's layers, skip_add, with the parameters, batch
 * norm's running statistics and the optimiser state where they were, so it predicts
 * what the old network predicted. Saved again, it is a version-2 file of the same
 * network; relabelled version 1, that file is refused (skip records are version 2's).
 * The nested records' own checks: no inner layers, more than the payload holds. */
void version_1_residual_blocks_are_flattened(void **state);

void save_is_atomic(void **state);

/* A symbolic link planted at the old fixed temporary name (PATH.tmp) pointing at a file
 * of the victim's: the save neither follows it nor overwrites the victim. */
void planted_link_is_not_followed(void **state);

/* Four processes saving to one path at once, several rounds: the file always loads
 * and is the whole model of one of them; no temporary is left. */
void concurrent_saves_leave_a_whole_model(void **state);

/* A file size limit reached part way through a save (SIGXFSZ ignored): GF_EIO naming
 * EFBIG, the old file untouched, no temporary left. */
void save_over_the_size_limit_fails_cleanly(void **state);

/* A layer kind the format does not know is refused also inside a residual block, naming
 * the kind and the layer: GF_EUNSUPPORTED, nothing written. */
void other_layer_kinds_are_named(void **state);

/* Saved with its codec and loaded with gf_model_load_memory_with: the same layers, every
 * parameter bit for bit, the same forward output, and the same bytes saved again. */
void own_kind_with_codec_round_trips(void **state);

/* A list of kinds of one's own must name kinds that can be decoded, under names that no
 * built-in kind has. */
void own_kinds_are_checked(void **state);

/* Every built-in kind of the registry in one network: it saves, loads to layers of the
 * same operations, and saves again to the same bytes. */
void every_registered_kind_round_trips(void **state);

/* What the analysis may assume of a kind, as a telemetry record names it. */
void kind_traits(void **state);

void bad_arguments_are_refused(void **state);

/* Loading without asking for the optimiser or the generator still checks them. */
void optional_parts(void **state);

#endif
