// Ping-pong: two goroutines, two unbuffered channels, N round trips.
// ping sends i (0 .. N-1), pong answers i+1, ping sums the answers and the
// result is N*(N+1)/2 (500000500000 for N = 1,000,000).
//
//	pingpong [N=1000000]
package main

import (
	"fmt"
	"os"
	"strconv"
)

func pong(in <-chan int64, out chan<- int64) {
	for x := range in {
		out <- x + 1
	}
}

func ping(n int64, out chan<- int64, in <-chan int64, result chan<- int64) {
	var sum int64
	for i := int64(0); i < n; i++ {
		out <- i
		sum += <-in
	}
	close(out)
	result <- sum
}

func main() {
	n := int64(1000000)
	if len(os.Args) > 1 {
		v, err := strconv.ParseInt(os.Args[1], 10, 64)
		if err != nil {
			fmt.Fprintln(os.Stderr, "usage: pingpong [N]")
			os.Exit(2)
		}
		n = v
	}
	a := make(chan int64)
	b := make(chan int64)
	result := make(chan int64, 1)
	go pong(a, b)
	go ping(n, a, b, result)
	fmt.Println(<-result)
}
