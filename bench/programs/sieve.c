/* Sieve of Eratosthenes over a growable int64 vector with bounds-checked
 * access: the same algorithm and data structure as sieve.qz. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct {
  int64_t *data, len, cap;
} vec;

static void push(vec *v, int64_t x) {
  if (v->len == v->cap) {
    v->cap = v->cap ? v->cap * 2 : 8;
    v->data = realloc(v->data, (size_t)v->cap * sizeof(int64_t));
    if (!v->data)
      abort();
  }
  v->data[v->len++] = x;
}
static int64_t get(vec *v, int64_t i) {
  if ((uint64_t)i >= (uint64_t)v->len) {
    fprintf(stderr, "index out of bounds\n");
    exit(101);
  }
  return v->data[i];
}
static void set(vec *v, int64_t i, int64_t x) {
  if ((uint64_t)i >= (uint64_t)v->len) {
    fprintf(stderr, "index out of bounds\n");
    exit(101);
  }
  v->data[i] = x;
}

static int64_t sieve(int64_t n) {
  vec v = {0, 0, 0};
  for (int64_t i = 0; i <= n; ++i)
    push(&v, 1);
  set(&v, 0, 0);
  set(&v, 1, 0);
  for (int64_t i = 2; i * i <= n; ++i)
    if (get(&v, i) == 1)
      for (int64_t j = i * i; j <= n; j += i)
        set(&v, j, 0);
  int64_t count = 0;
  for (int64_t i = 0; i <= n; ++i)
    count += get(&v, i);
  /* Like a Quartz Vec, the vector is never freed (the language has no free). */
  return count;
}

int main(void) {
  int64_t total = 0;
  for (int64_t r = 0; r < 10; ++r)
    total += sieve(2000000 + r);
  printf("%" PRId64 "\n", total);
  return 0;
}
