/* tests/fuzz/replay_main.c: feeds files to a fuzz harness's LLVMFuzzerTestOneInput in a
 * normal build (no libFuzzer), so that the seed corpus and every crashing input kept
 * under tests/fuzz/regressions/<target>/ run as a CTest test with any compiler. Each
 * argument is a file or a directory (its files, not recursively; names starting with
 * '.' or "README" are skipped). A crash or abort fails the test. */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0;
    if (f == NULL) {
        fprintf(stderr, "replay: cannot open %s\n", path);
        return 1;
    }
    for (;;) {
        size_t got;
        if (len == cap) {
            uint8_t *grown = realloc(buf, cap ? 2 * cap : 4096);
            if (grown == NULL) {
                fclose(f);
                free(buf);
                return 1;
            }
            buf = grown;
            cap = cap ? 2 * cap : 4096;
        }
        got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0)
            break;
    }
    fclose(f);
    /* An exact-size copy, so that ASan sees any read past the input's end. */
    {
        uint8_t *exact = malloc(len ? len : 1);
        if (exact == NULL) {
            free(buf);
            return 1;
        }
        memcpy(exact, buf, len);
        free(buf);
        LLVMFuzzerTestOneInput(exact, len);
        free(exact);
    }
    return 0;
}

int main(int argc, char **argv)
{
    int failures = 0;
    size_t files = 0;
    for (int i = 1; i < argc; i++) {
        struct stat sb;
        DIR *dir;
        struct dirent *e;
        if (stat(argv[i], &sb) != 0) {
            fprintf(stderr, "replay: %s does not exist (skipped)\n", argv[i]);
            continue;
        }
        if (!S_ISDIR(sb.st_mode)) {
            failures += replay_file(argv[i]);
            files++;
            continue;
        }
        dir = opendir(argv[i]);
        if (dir == NULL) {
            fprintf(stderr, "replay: cannot read directory %s\n", argv[i]);
            failures++;
            continue;
        }
        while ((e = readdir(dir)) != NULL) {
            char path[4096];
            if (e->d_name[0] == '.' || strncmp(e->d_name, "README", 6) == 0)
                continue;
            snprintf(path, sizeof path, "%s/%s", argv[i], e->d_name);
            if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
                continue;
            failures += replay_file(path);
            files++;
        }
        closedir(dir);
    }
    printf("replayed %zu inputs, %d unreadable\n", files, failures);
    return failures ? 1 : 0;
}
