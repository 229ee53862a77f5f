// Skynet: a tree of goroutines, 10 children each, down to N leaves
// (1,111,111 goroutines for N = 1,000,000). Leaf k sends k; every inner
// goroutine sends its subtree's sum to its parent over the parent's
// unbuffered channel. Prints N*(N-1)/2 (499999500000 for N = 1,000,000).
//
//	skynet [N=1000000]   (N a power of 10)
package main

import (
	"fmt"
	"os"
	"strconv"
)

func skynet(parent chan<- int64, num, size int64) {
	if size == 1 {
		parent <- num
		return
	}
	mine := make(chan int64)
	step := size / 10
	for i := int64(0); i < 10; i++ {
		go skynet(mine, num+i*step, step)
	}
	var sum int64
	for i := 0; i < 10; i++ {
		sum += <-mine
	}
	parent <- sum
}

func main() {
	n := int64(1000000)
	if len(os.Args) > 1 {
		v, err := strconv.ParseInt(os.Args[1], 10, 64)
		if err != nil || v < 1 {
			fmt.Fprintln(os.Stderr, "usage: skynet [N]")
			os.Exit(2)
		}
		n = v
	}
	root := make(chan int64)
	go skynet(root, 0, n)
	fmt.Println(<-root)
}
