/* src/io/file.h: file helpers of the io module (io/file.c). Not installed. */
#ifndef GRADFLOW_IO_FILE_H
#define GRADFLOW_IO_FILE_H

#include "gradflow/common.h"

/* Write size bytes at data to a unique temporary file beside path (created with O_EXCL,
 * never through a planted link), fsync it, rename it over path and sync the directory,
 * so that path is either untouched or the complete new file. GF_EIO (who and the file
 * named in the message) on failure, the temporary file removed. */
gf_status gf_file_write_atomic(const char *path, const void *data, size_t size,
                               const char *who);

/* Read the whole file at path into *out (release with gf_free), *size bytes. */
gf_status gf_file_read_all(unsigned char **out, size_t *size, const char *path,
                           const char *who);

#endif
