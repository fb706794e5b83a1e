/* src/io/crc32.h: the checksum of model files (io/crc32.c). Not installed: a program that
 * wants CRC-32 has zlib's crc32, which gives the same values. */
#ifndef GRADFLOW_IO_CRC32_H
#define GRADFLOW_IO_CRC32_H

#include "gradflow/common.h"

/* CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320, as zlib's crc32) of n bytes,
 * continuing from crc (start with 0). gf_crc32(0, "123456789", 9) == 0xCBF43926. */
uint32_t gf_crc32(uint32_t crc, const void *data, size_t n);

#endif
