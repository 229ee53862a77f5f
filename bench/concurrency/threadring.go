// Thread-ring (as the benchmarks game): 503 goroutines linked in a ring by
// unbuffered channels; goroutine 1 gets the token N, each passes token-1 to
// the next; the one that receives 0 holds it at the end and its id
// (1-based) is printed: N%503+1 (361 for N = 10,000,000).
//
//	threadring [N=10000000]
package main

import (
	"fmt"
	"os"
	"strconv"
)

const ring = 503

func member(id int64, in <-chan int64, next chan<- int64, done chan<- int64) {
	for {
		token := <-in
		if token == 0 {
			done <- id
			return
		}
		next <- token - 1
	}
}

func main() {
	n := int64(10000000)
	if len(os.Args) > 1 {
		v, err := strconv.ParseInt(os.Args[1], 10, 64)
		if err != nil || v < 0 {
			fmt.Fprintln(os.Stderr, "usage: threadring [N]")
			os.Exit(2)
		}
		n = v
	}
	done := make(chan int64, 1)
	first := make(chan int64)
	in := first
	for id := int64(1); id < ring; id++ {
		next := make(chan int64)
		go member(id, in, next, done)
		in = next
	}
	go member(ring, in, first, done)
	first <- n
	fmt.Println(<-done)
}
