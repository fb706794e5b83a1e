/* examples/example_dir.h: the one thing the examples share that is not gradflow's
 * business: making their output directory, like mkdir -p (POSIX mkdir). */
#ifndef GRADFLOW_EXAMPLE_DIR_H
#define GRADFLOW_EXAMPLE_DIR_H

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <gradflow.h>

/* Create dir and its parents when missing; GF_EIO (with a message on stderr) otherwise. */
static gf_status example_mkdir(const char *dir)
{
    char path[1024];
    size_t len = strlen(dir);
    if (len == 0 || len >= sizeof path)
        return GF_EINVAL;
    memcpy(path, dir, len + 1);
    for (size_t i = 1; i <= len; i++) {
        if (path[i] != '/' && path[i] != '\0')
            continue;
        char c = path[i];
        path[i] = '\0';
        if (mkdir(path, 0777) != 0 && errno != EEXIST) {
            fprintf(stderr, "cannot create directory '%s': %s\n", path, strerror(errno));
            return GF_EIO;
        }
        path[i] = c;
    }
    return GF_OK;
}

#endif
