/* The same loop as options.qz with a C tagged option. */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>

typedef struct {
  bool some;
  int64_t value;
} option;

static option step(int64_t x) {
  if (x % 7 == 0)
    return (option){false, 0};
  return (option){true, (x * 1103515245 + 12345) % 2147483648};
}

int main(void) {
  int64_t x = 1, sum = 0;
  for (int64_t i = 0; i < 100000000; ++i) {
    option o = step(x);
    x = o.some ? o.value : x + 1;
    sum += o.some ? o.value % 1000 : 1;
  }
  printf("%" PRId64 "\n", sum);
  return 0;
}
