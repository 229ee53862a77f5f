// Messages/s through one "actor" from four senders, Go version: four
// goroutines each send N messages on one buffered channel (the mailbox) to
// a goroutine that counts them; then main makes one synchronous call (a
// request with a reply channel on the same mailbox) that returns the count,
// 4*N (4000000 for N = 1,000,000). Go channels are bounded: the mailbox
// holds 4096 messages, so a sender blocks when it is that far ahead (an
// actor's mailbox in Quartz and Erlang is unbounded).
//
//	actor_cast [N=1000000]
package main

import (
	"fmt"
	"os"
	"strconv"
	"sync"
)

// A message: reply == nil is an asynchronous bump, else a get call.
type message struct {
	reply chan<- int64
}

func counter(mailbox <-chan message) {
	var n int64
	for m := range mailbox {
		if m.reply == nil {
			n++
		} else {
			m.reply <- n
		}
	}
}

func sender(mailbox chan<- message, n int64, wg *sync.WaitGroup) {
	for i := int64(0); i < n; i++ {
		mailbox <- message{}
	}
	wg.Done()
}

func main() {
	n := int64(1000000)
	if len(os.Args) > 1 {
		v, err := strconv.ParseInt(os.Args[1], 10, 64)
		if err != nil {
			fmt.Fprintln(os.Stderr, "usage: actor_cast [N]")
			os.Exit(2)
		}
		n = v
	}
	mailbox := make(chan message, 4096)
	go counter(mailbox)
	var wg sync.WaitGroup
	for s := 0; s < 4; s++ {
		wg.Add(1)
		go sender(mailbox, n, &wg)
	}
	// Every sender's sends have completed, so they are in the mailbox ahead
	// of this call (a channel is one FIFO queue).
	wg.Wait()
	reply := make(chan int64, 1)
	mailbox <- message{reply}
	fmt.Println(<-reply)
}
