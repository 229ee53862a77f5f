// Actor request/reply round trip, Go version: one goroutine owns the state
// and answers requests from a channel; main makes N synchronous calls. A
// request carries the caller's reply channel (one per caller, capacity 1,
// reused for every call), as an actor call carries its reply slot. The
// server answers x+1 for x = 0 .. N-1 and main sums the answers:
// N*(N+1)/2 (500000500000 for N = 1,000,000).
//
//	actor_call [N=1000000]
package main

import (
	"fmt"
	"os"
	"strconv"
)

type request struct {
	x     int64
	reply chan<- int64
}

// echo is the "actor": it handles one request at a time, in order.
func echo(mailbox <-chan request) {
	var calls int64
	for req := range mailbox {
		calls++
		req.reply <- req.x + 1
	}
}

func main() {
	n := int64(1000000)
	if len(os.Args) > 1 {
		v, err := strconv.ParseInt(os.Args[1], 10, 64)
		if err != nil {
			fmt.Fprintln(os.Stderr, "usage: actor_call [N]")
			os.Exit(2)
		}
		n = v
	}
	mailbox := make(chan request, 64)
	go echo(mailbox)
	reply := make(chan int64, 1)
	var sum int64
	for i := int64(0); i < n; i++ {
		mailbox <- request{i, reply}
		sum += <-reply
	}
	fmt.Println(sum)
}
