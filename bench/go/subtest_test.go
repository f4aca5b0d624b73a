// subtest_test.go - the measurements of bench/parallel_bench.c made with
// Go's testing package, for bench/run.py to print side by side.  The
// cancellation round uses what errgroup.WithContext does (a context
// cancelled by the first failing goroutine), written out with the standard
// library only, so that no module has to be fetched.
package deftbench

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"
)

const n = 10000
const rounds = 5

func many(t *testing.T, fn func(*testing.T)) {
	for i := 0; i < n; i++ {
		t.Run("s", fn)
	}
}

func best(t *testing.T, fn func(*testing.T)) time.Duration {
	b := time.Hour
	for r := 0; r < rounds; r++ {
		start := time.Now()
		t.Run("round", func(t *testing.T) { many(t, fn) })
		if d := time.Since(start); d < b {
			b = d
		}
	}
	return b
}

func TestSubtestCosts(t *testing.T) {
	seq := best(t, func(t *testing.T) {})
	fmt.Printf("bench: sequential subtest %d ns\n", seq.Nanoseconds()/n)
	par := best(t, func(t *testing.T) { t.Parallel() })
	fmt.Printf("bench: parallel subtest %d ns\n", par.Nanoseconds()/n)
	fmt.Printf("bench: 10000 parallel subtests %.1f ms\n",
		float64(par.Microseconds())/1e3)
}

// Siblings block on ctx.Done(), Go's counterpart of poll on t_ctx_fd.
func TestCancellationLatency(t *testing.T) {
	const members = 8
	var wake, wait []float64
	for k := 0; k < 21; k++ {
		ctx, cancel := context.WithCancel(context.Background())
		var mu sync.Mutex
		var woken []time.Time
		var failedAt time.Time
		var wg sync.WaitGroup
		for i := 0; i < members-1; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-ctx.Done()
				at := time.Now()
				mu.Lock()
				woken = append(woken, at)
				mu.Unlock()
			}()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(10 * time.Millisecond)
			failedAt = time.Now()
			cancel()
		}()
		wg.Wait()
		waited := time.Now()
		last := failedAt
		for _, w := range woken {
			if w.After(last) {
				last = w
			}
		}
		wake = append(wake, float64(last.Sub(failedAt).Microseconds()))
		wait = append(wait, float64(waited.Sub(failedAt).Microseconds()))
	}
	sort.Float64s(wake)
	sort.Float64s(wait)
	fmt.Printf("bench: cancellation to all siblings woken %.0f us (worst %.0f us)\n",
		wake[len(wake)/2], wake[len(wake)-1])
	fmt.Printf("bench: cancellation to t_wait returning %.0f us (worst %.0f us)\n",
		wait[len(wait)/2], wait[len(wait)-1])
}
