/* src/io/data_io.h: what the file loaders share (io/data_io.c): a whole file in memory,
 * inflated when gzip-compressed, within the memory limit. Not installed. */
#ifndef GRADFLOW_IO_DATA_IO_H
#define GRADFLOW_IO_DATA_IO_H

#include <stddef.h>

#include "gradflow/common.h"

/* Bytes read from a file: data[0, len) of cap allocated (gf_free data). */
typedef struct buffer {
    unsigned char *data;
    size_t len, cap;
} buffer;

/* The most bytes a reader can use of a file, judged from its first len bytes (an IDX
 * header gives its file's exact length); SIZE_MAX while that is not known. */
typedef size_t (*gf_usable_fn)(const unsigned char *data, size_t len);

/* Read the regular file at path whole into *out, inflating it when it is gzip-compressed
 * (detected by its magic bytes, not its name); who names the caller in messages. A gzip
 * file that inflates to more than usable (may be NULL) says it can use is refused as
 * soon as it does (GF_EFORMAT), not at the memory limit. */
gf_status gf_read_file(const char *who, const char *path, gf_usable_fn usable, buffer *out);

/* The file name part of a path, for data set names. */
const char *gf_base_name(const char *path);

#endif
