/* SPDX-License-Identifier: Apache-2.0
 * Without libFuzzer, a fuzz target becomes a program that feeds it every
 * file of its seed corpus, so non-clang builds still exercise the decoders. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv) {
  int n = 0;
  for (int i = 1; i < argc; i++) {
    DIR *d = opendir(argv[i]);
    if (!d) continue;
    struct dirent *e;
    while ((e = readdir(d))) {
      if (e->d_name[0] == '.') continue;
      char path[4096];
      snprintf(path, sizeof path, "%s/%s", argv[i], e->d_name);
      FILE *f = fopen(path, "rb");
      if (!f) continue;
      static uint8_t buf[1 << 20];
      size_t len = fread(buf, 1, sizeof buf, f);
      fclose(f);
      LLVMFuzzerTestOneInput(buf, len);
      n++;
    }
    closedir(d);
  }
  printf("replayed %d inputs\n", n);
  return 0;
}
