/* The state machine of state.qz as a C tagged union with switches. */
#include <inttypes.h>
#include <stdio.h>

typedef enum { IDLE, COUNTING, FLUSHING, DONE } tag;
typedef struct {
  tag t;
  int64_t a, b;
} state;

static state next(state s, int64_t input) {
  switch (s.t) {
  case IDLE:
    if (input % 3 == 0)
      return (state){COUNTING, s.a, 0};
    return (state){IDLE, s.a + input % 5, 0};
  case COUNTING:
    if (s.b >= 16)
      return (state){FLUSHING, s.a + s.b, 0};
    return (state){COUNTING, s.a, s.b + input % 4};
  case FLUSHING:
    if (s.a > 1000000)
      return (state){DONE, 0, 0};
    return (state){IDLE, s.a, 0};
  case DONE:
  default:
    return (state){IDLE, 0, 0};
  }
}

static int64_t weight(state s) {
  switch (s.t) {
  case IDLE:
    return s.a % 7;
  case COUNTING:
    return s.b;
  case FLUSHING:
    return s.a % 11;
  case DONE:
  default:
    return 100;
  }
}

int main(void) {
  state s = {IDLE, 0, 0};
  int64_t input = 12345, total = 0;
  for (int64_t i = 0; i < 100000000; ++i) {
    input = (input * 1103515245 + 12345) % 2147483648;
    s = next(s, input);
    total += weight(s);
  }
  printf("%" PRId64 "\n", total);
  return 0;
}
