/* qz_runtime.h - the C ABI between code compiled by qmir and its native
 * runtime (scheduler, tasks, channels, timers, I/O, panics, printing, Vec).
 *
 * Every function takes and returns only 64-bit integers, booleans, pointers or
 * nothing, so it has the same C ABI in every backend (see docs/runtime-abi.md
 * for the calls the lowering emits and docs/runtime.md for the protocols).
 *
 * Suspending operations come in two forms:
 *   - a poll form `qz_X_poll(..., qz_task *self)` for the state machines that
 *     coro-split generates: it returns QZ_READY (done, results written),
 *     QZ_PENDING (the task was parked and WILL be woken exactly once: return
 *     QZ_PENDING from the poll function and call the same operation, with the
 *     same arguments, when polled again), or QZ_CLOSED (channel closed);
 *   - a blocking form `qz_X(...)` with the names of docs/runtime-abi.md, which
 *     parks the calling OS thread (correct anywhere, but on a worker thread it
 *     takes that worker away from the scheduler while it waits).
 */
#ifndef QZ_RUNTIME_H
#define QZ_RUNTIME_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#define QZ_NORETURN [[noreturn]]
#else
#define QZ_NORETURN _Noreturn
#endif

typedef struct qz_task qz_task;
typedef struct qz_chan qz_chan;
typedef struct qz_vec qz_vec;
typedef struct qz_actor qz_actor;

/* Results of poll functions and of the poll forms of suspending operations. */
#define QZ_READY 0
#define QZ_PENDING 1
#define QZ_CLOSED 2

/* A task is {poll function, frame}. The poll function runs the task until it
 * finishes (return QZ_READY) or must wait (return QZ_PENDING after a poll-form
 * operation returned QZ_PENDING, or after arranging some other wake-up). The
 * runtime never polls one task on two threads at once. The frame belongs to
 * the generated code: free it before returning QZ_READY if it was allocated. */
typedef int64_t (*qz_poll_fn)(void *frame, qz_task *self);

/* ---- running a program ------------------------------------------------- */

/* Entry point of a compiled program: starts the runtime (QZ_WORKERS worker
 * threads, default one per core), runs `main` as a task and, when it returns
 * QZ_READY, flushes stdout and exits the process with the task's result
 * (qz_task_set_result). Never returns. If the environment variable QMIR_SEED
 * is set (a decimal u64), runs in deterministic mode instead (see
 * qz_run_seeded; a deadlock prints the report and exits 101 as natively). */
QZ_NORETURN void qz_main(qz_poll_fn main_poll, void *main_frame);

/* Like qz_main but returns main's result instead of exiting, after stopping
 * the workers (tasks still suspended are abandoned). `workers` <= 0 means
 * QZ_WORKERS or one per core. For embedders and tests; not reentrant. */
int64_t qz_run(qz_poll_fn main_poll, void *main_frame, int64_t workers);

/* Deterministic mode: run main_poll/main_frame and every task it spawns on
 * the CALLING thread, one poll at a time, no worker threads. The next task to
 * poll is picked uniformly at random among the runnable ones by a PRNG seeded
 * with `seed` (splitmix64; no std::random_device, no time), so a run replays
 * exactly from its seed. Timers use a virtual clock (starting at 0): when
 * nothing is runnable and timers are pending, the clock jumps to the earliest
 * deadline (so usleep costs no wall time and is deterministic). I/O waits, if
 * any are pending, are polled with epoll (timeout 0 while tasks are runnable).
 * Returns QZ_RUN_DONE with *result = main's result (qz_task_set_result) when
 * main returns QZ_READY; QZ_RUN_DEADLOCK when main has not finished and no
 * task is runnable with no timer or I/O pending (and no qz_external_ref
 * held): then the deadlock report (same text as the native report,
 * "deadlock: ..." naming what each task waits on) is available from
 * qz_last_deadlock_report() and is NOT printed and the process does NOT exit.
 * Tasks still suspended are abandoned (their frames are the caller's
 * problem). Not reentrant; must not be called while qz_run/qz_main runs.
 * Blocking-form channel operations that would have to wait, called on this
 * thread, are a fatal error (abort) instead of a hang. */
#define QZ_RUN_DONE 0
#define QZ_RUN_DEADLOCK 1
int qz_run_seeded(qz_poll_fn main_poll, void *main_frame, uint64_t seed, int64_t *result);
/* The report of the last qz_run_seeded that returned QZ_RUN_DEADLOCK ("" if
 * the last one did not deadlock). Valid until the next qz_run_seeded. */
const char *qz_last_deadlock_report(void);

/* Start a task. Callable from a task or from any thread while qz_run/qz_main
 * is running. The returned pointer is valid until the task finishes unless
 * the caller holds a reference (qz_task_retain). */
qz_task *qz_spawn(qz_poll_fn poll, void *frame);
/* Same, with a name shown by the deadlock report (the string must outlive the
 * task; compiled code passes the function's name). */
qz_task *qz_spawn_named(qz_poll_fn poll, void *frame, const char *name);

/* Wake a task: it will be polled (again) at least once after this call. A
 * wake of a running task makes it run again when its poll returns; wakes of
 * a task that is already scheduled coalesce; a finished task ignores wakes. */
void qz_task_wake(qz_task *task);
void qz_task_retain(qz_task *task);
void qz_task_release(qz_task *task);
void qz_task_set_result(qz_task *task, int64_t result);
/* The task being polled on this thread, or NULL. */
qz_task *qz_current_task(void);
/* Let other tasks run: PENDING the first time (the task is already requeued),
 * READY when polled again. */
int64_t qz_yield_poll(qz_task *self);
/* Number of worker threads of the running scheduler (0 if none, 1 in
 * deterministic mode). */
int64_t qz_runtime_workers(void);

/* A thread that is not a runtime worker and may wake tasks later (by
 * qz_task_wake or channel operations) holds an external reference while it
 * may do so; the deadlock detector never fires while one is held. */
void qz_external_ref(void);
void qz_external_unref(void);

/* ---- channels of Int (MPMC) -------------------------------------------- */

#define QZ_CHAN_UNBOUNDED (-1)
/* cap > 0: bounded; 0: rendezvous; QZ_CHAN_UNBOUNDED: unbounded. */
qz_chan *qz_chan_new(int64_t cap);
/* Free a channel nobody uses any more (no waiter may be parked on it). */
void qz_chan_free(qz_chan *ch);

/* QZ_READY: sent. QZ_PENDING: parked in the sender queue. QZ_CLOSED: the
 * channel is (or was closed while we waited), nothing was sent; compiled code
 * then calls qz_panic_at("send on closed channel", ...). */
int64_t qz_chan_send_poll(qz_chan *ch, int64_t value, qz_task *self);
/* QZ_READY: *out holds a value. QZ_PENDING: parked in the receiver queue.
 * QZ_CLOSED: closed and drained (the language's None). */
int64_t qz_chan_recv_poll(qz_chan *ch, int64_t *out, qz_task *self);

/* Blocking forms (docs/runtime-abi.md). qz_chan_send panics "send on closed
 * channel"; qz_chan_recv returns false once closed and drained. */
void qz_chan_send(qz_chan *ch, int64_t value);
bool qz_chan_recv(qz_chan *ch, int64_t *out);
/* Never suspend. try_recv: false if nothing is available now. try_send:
 * false if it would have to wait; panics if closed. */
bool qz_chan_try_recv(qz_chan *ch, int64_t *out);
bool qz_chan_try_send(qz_chan *ch, int64_t value);
/* Close: wakes every parked receiver (they drain the buffer, then get
 * QZ_CLOSED) and every parked sender (QZ_CLOSED). Closing twice is a no-op. */
void qz_chan_close(qz_chan *ch);
int64_t qz_chan_len(qz_chan *ch);

/* ---- timers and I/O ------------------------------------------------------ */

/* Suspend for at least `us` microseconds without blocking a worker. */
int64_t qz_usleep_poll(int64_t us, qz_task *self);
/* Blocking form: sleeps the calling thread. */
void qz_usleep(int64_t us);

#define QZ_IO_READ 1
#define QZ_IO_WRITE 2
/* Wait until `fd` (non-blocking, owned by the caller) is readable/writable:
 * READY once it was reported ready (then do the I/O; on EAGAIN wait again).
 * At most one task waits on one fd at a time. Returns -errno if the fd cannot
 * be watched. */
int64_t qz_io_wait_poll(int64_t fd, int64_t events, qz_task *self);
/* Stop watching `fd` (call before closing it; no task may be waiting on it). */
void qz_io_forget(int64_t fd);

/* ---- the heap of generated code ------------------------------------------ */

/* `new T` and `free p` in MIR: task frames and actor messages. qz_alloc
 * returns zeroed memory (16-byte aligned) and never NULL (out of memory is a
 * panic); qz_free takes what qz_alloc returned, from any thread, or NULL.
 * Per-thread free lists make cross-thread frees cheap (runtime/alloc.cpp). */
void *qz_alloc(int64_t size);
void qz_free(void *p);

/* ---- panics -------------------------------------------------------------- */

/* Print "panic: MSG at FILE:LINE:COL" (or "panic: MSG" without a location) on
 * stderr after flushing stdout, and exit the process with status 101. */
QZ_NORETURN void qz_panic_at(const char *msg, const char *file, int64_t line, int64_t col);
QZ_NORETURN void qz_panic_str(const char *msg);
/* "index out of bounds: index I, len L" */
QZ_NORETURN void qz_panic_bounds(int64_t index, int64_t len);
QZ_NORETURN void qz_panic_bounds_at(int64_t index, int64_t len, const char *file,
                                    int64_t line, int64_t col);

/* ---- actors (docs/runtime.md "Actors"; called by actor-lower's code) ---- */

/* A new running actor with an empty unbounded mailbox (a channel of message
 * pointers with a receiver waiter queue; per-sender FIFO) and no task yet.
 * `state` is the generated code's field struct, opaque here. Actors are never
 * freed. `name` must outlive the program (a string constant). */
qz_actor *qz_actor_create(const char *name, void *state);
void *qz_actor_state(qz_actor *a);
/* Start (or restart) the actor's loop task, as qz_spawn_named(poll, frame,
 * NAME). Every poll of that task runs under a panic catcher: a qz_panic_*
 * inside it prints "actor NAME panicked in METHOD(): MSG at FILE:L:C" (or
 * "actor NAME panicked: MSG ..." when no method is current) on stderr after
 * flushing stdout, then the runtime calls qz_actor_panicked(a), frees
 * `frame` with qz_free(), ends the task and calls restart(a), which starts a
 * fresh loop task through this function again. */
qz_task *qz_actor_start(qz_actor *a, qz_poll_fn poll, void *frame, void (*restart)(qz_actor *));
/* Bookkeeping after a panic in the loop: the current message becomes the
 * failed one; with a live link (a linked actor that is running) the actor
 * stays as it is and the next run's mode is 1; otherwise it is terminated,
 * its mailbox closed (later sends and stop() fail) and the next mode is 2.
 * Returns that mode. */
int64_t qz_actor_panicked(qz_actor *a);
#define QZ_ACTOR_FRESH 0
#define QZ_ACTOR_RESTARTED 1
#define QZ_ACTOR_TERMINATING 2
int64_t qz_actor_run_mode(qz_actor *a);
bool qz_actor_has_failed(qz_actor *a);
void *qz_actor_take_failed(qz_actor *a);  /* the failed message once, else NULL */
void qz_actor_set_current(qz_actor *a, void *msg, const char *method);
void qz_actor_clear_current(qz_actor *a);
const char *qz_actor_current_method(qz_actor *a);
/* Enqueue a message: false if the actor is not running (stopping, stopped or
 * terminated; the caller keeps the message). */
bool qz_actor_send(qz_actor *a, void *msg);
/* The send of a void method's stub (`await`): enqueues like qz_actor_send and
 * returns READY, or CLOSED if the actor is not running (the caller keeps the
 * message). When the mailbox already holds more than QZ_ACTOR_PACE_DEPTH
 * messages, the message is enqueued all the same but the sender yields
 * (PENDING; the next call returns READY and sends nothing): a sender that
 * never waits would otherwise keep its worker, and the actor queued behind
 * it, busy for as long as it sends. A send still never waits for room. */
#define QZ_ACTOR_PACE_DEPTH 1024
int64_t qz_actor_send_poll(qz_actor *a, void *msg, qz_task *self);
/* The loop's receive: READY (*out = next message), PENDING (parked; the
 * deadlock report says "actor NAME waits for mail"), CLOSED (closed and
 * drained: call qz_actor_finished and end the loop). */
int64_t qz_actor_recv_poll(qz_actor *a, void **out, qz_task *self);
/* stop(): the first call returns QZ_CLOSED (2) if the actor is not running;
 * otherwise it closes the mailbox (what is in it is still handled), parks the
 * caller as a stop waiter and returns PENDING; once the loop has called
 * qz_actor_finished, the next call returns READY. */
int64_t qz_actor_stop_poll(qz_actor *a, qz_task *self);
/* The loop ended: the actor is stopped (unless terminated); wakes every stop
 * waiter exactly once. */
void qz_actor_finished(qz_actor *a);
/* Link a and b both ways (a no-op for a == b); holds when it returns. */
void qz_actor_link(qz_actor *a, qz_actor *b);
/* 0 running, 1 stopping, 2 stopped, 3 terminated (for tests and tools). */
#define QZ_ACTOR_RUNNING 0
#define QZ_ACTOR_STOPPING 1
#define QZ_ACTOR_STOPPED 2
#define QZ_ACTOR_TERMINATED 3
int64_t qz_actor_status(qz_actor *a);
/* Tests and embedders: write actor panic lines to `file` (a FILE *) instead
 * of stderr; NULL restores stderr. */
void qz_actor_set_panic_output(void *file);

/* ---- printing (stdout, flushed at exit whatever the reason) -------------- */

void qz_print_i64(int64_t v);
void qz_println_i64(int64_t v);
void qz_print_bool(bool v);
void qz_println_bool(bool v);
void qz_print_str(const char *s);
void qz_println_str(const char *s);
void qz_flush(void);

/* ---- Vec<Int> ------------------------------------------------------------ */

qz_vec *qz_vec_new(void);
int64_t qz_vec_len(qz_vec *v);
void qz_vec_push(qz_vec *v, int64_t x);
int64_t qz_vec_pop(qz_vec *v);               /* only when len > 0 */
int64_t qz_vec_get(qz_vec *v, int64_t i);    /* index checked by the caller */
void qz_vec_set(qz_vec *v, int64_t i, int64_t x);
void qz_vec_free(qz_vec *v);

#ifdef __cplusplus
}
#endif
#endif /* QZ_RUNTIME_H */
