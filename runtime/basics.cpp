// Printing, panics and Vec<Int>.
#include "internal.h"

#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <unistd.h>

using namespace qzrt;

namespace {
std::atomic<bool> g_panicking{false};

[[noreturn]] void panic_exit(const char *msg, const char *file, int64_t line, int64_t col) {
  // Inside an actor's loop task the actor's catcher takes it (no return).
  actor_catch_panic(msg, file, line, col);
  // Only the first panic reports; a concurrent one waits for the exit.
  if (g_panicking.exchange(true)) {
    for (;;)
      pause();
  }
  fflush(stdout);
  if (file)
    fprintf(stderr, "panic: %s at %s:%" PRId64 ":%" PRId64 "\n", msg, file, line, col);
  else
    fprintf(stderr, "panic: %s\n", msg);
  fflush(stderr);
  _exit(101);
}
} // namespace

struct qz_vec {
  int64_t *data = nullptr;
  int64_t len = 0, cap = 0;
};

extern "C" {

void qz_panic_at(const char *msg, const char *file, int64_t line, int64_t col) {
  panic_exit(msg, file, line, col);
}
void qz_panic_str(const char *msg) { panic_exit(msg, nullptr, 0, 0); }

void qz_panic_bounds(int64_t index, int64_t len) {
  char buf[96];
  snprintf(buf, sizeof buf, "index out of bounds: index %" PRId64 ", len %" PRId64, index, len);
  panic_exit(buf, nullptr, 0, 0);
}
void qz_panic_bounds_at(int64_t index, int64_t len, const char *file, int64_t line,
                        int64_t col) {
  char buf[96];
  snprintf(buf, sizeof buf, "index out of bounds: index %" PRId64 ", len %" PRId64, index, len);
  panic_exit(buf, file, line, col);
}

void qz_print_i64(int64_t v) { printf("%" PRId64, v); }
void qz_println_i64(int64_t v) { printf("%" PRId64 "\n", v); }
void qz_print_bool(bool v) { fputs(v ? "true" : "false", stdout); }
void qz_println_bool(bool v) { puts(v ? "true" : "false"); }
void qz_print_str(const char *s) { fputs(s, stdout); }
void qz_println_str(const char *s) { puts(s); }
void qz_flush(void) { fflush(stdout); }

qz_vec *qz_vec_new(void) { return new qz_vec; }
int64_t qz_vec_len(qz_vec *v) { return v->len; }
void qz_vec_push(qz_vec *v, int64_t x) {
  if (v->len == v->cap) {
    int64_t nc = v->cap ? v->cap * 2 : 8;
    auto *nd = static_cast<int64_t *>(realloc(v->data, size_t(nc) * sizeof(int64_t)));
    if (!nd)
      fatal("out of memory");
    v->data = nd;
    v->cap = nc;
  }
  v->data[v->len++] = x;
}
int64_t qz_vec_pop(qz_vec *v) { return v->data[--v->len]; }
int64_t qz_vec_get(qz_vec *v, int64_t i) { return v->data[i]; }
void qz_vec_set(qz_vec *v, int64_t i, int64_t x) { v->data[i] = x; }
void qz_vec_free(qz_vec *v) {
  if (!v)
    return;
  free(v->data);
  delete v;
}

} // extern "C"
