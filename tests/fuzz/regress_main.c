/* Runs a fuzz target over files, without libFuzzer: the committed seed corpus and every crash ever
 * found (regressions/), so each ordinary test build replays them. Usage: regress DIR... */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv)
{
	unsigned files = 0;
	for (int a = 1; a < argc; a++) {
		DIR *d = opendir(argv[a]);
		if (!d)
			continue;
		struct dirent *de;
		while ((de = readdir(d))) {
			if (de->d_name[0] == '.')
				continue;
			char path[4096];
			snprintf(path, sizeof path, "%s/%s", argv[a], de->d_name);
			FILE *f = fopen(path, "rb");
			if (!f)
				continue;
			static uint8_t buf[1 << 20];
			size_t n = fread(buf, 1, sizeof buf, f);
			fclose(f);
			LLVMFuzzerTestOneInput(buf, n);
			files++;
		}
		closedir(d);
	}
	printf("%u inputs replayed without a crash\n", files);
	return files ? 0 : 1;
}
