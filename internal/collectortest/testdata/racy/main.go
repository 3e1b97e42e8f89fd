// Command racy has a data race on purpose: two goroutines write one
// variable without synchronisation. Built with -race, it shows what the race
// detector writes (see collectortest's TestRacedFindsARealReport).
package main

import (
	"fmt"
	"sync"
)

func main() {
	var n int
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n++
		}()
	}
	wg.Wait()
	fmt.Println(n)
}
