// Crash-and-restart cycle, Go version. Go has no actors, links or
// supervisors, and a panic that is not recovered ends the whole process, so
// this is the nearest Go idiom, not an equivalent: one goroutine serves a
// mailbox channel, and handles each message under a deferred recover();
// after a panic it prints one line on stderr (as the Quartz runtime does),
// resets its state to the initial values ("restart": the same goroutine
// goes on, no new one is started) and goes on with the next message. N
// times, main sends an asynchronous crash message, then makes one
// synchronous call, which returns the fresh counter plus one, i.e. 1: the
// result is N (100000 for N = 100,000).
//
//	actor_crash [N=100000]
package main

import (
	"fmt"
	"os"
	"strconv"
)

type message struct {
	crash bool
	reply chan<- int64
}

type worker struct {
	n int64
}

// handle runs one message; it reports whether the message panicked.
func (w *worker) handle(m message) (failed bool) {
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(os.Stderr, "actor Worker panicked in %s(): %v\n", name(m), r)
			failed = true
		}
	}()
	w.n++
	if m.crash {
		panic("boom")
	}
	m.reply <- w.n
	return false
}

func name(m message) string {
	if m.crash {
		return "crash"
	}
	return "bump"
}

func serve(mailbox <-chan message) {
	w := &worker{}
	for m := range mailbox {
		if w.handle(m) {
			w = &worker{} // restart: fields back at their initial values
		}
	}
}

func main() {
	n := int64(100000)
	if len(os.Args) > 1 {
		v, err := strconv.ParseInt(os.Args[1], 10, 64)
		if err != nil {
			fmt.Fprintln(os.Stderr, "usage: actor_crash [N]")
			os.Exit(2)
		}
		n = v
	}
	mailbox := make(chan message, 64)
	go serve(mailbox)
	reply := make(chan int64, 1)
	var sum int64
	for i := int64(0); i < n; i++ {
		mailbox <- message{crash: true}
		mailbox <- message{reply: reply}
		sum += <-reply
	}
	fmt.Println(sum)
}
