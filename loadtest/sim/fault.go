package sim

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Bounds of the resource faults.
const (
	cpuBurners        = 2                     // busy goroutines during a cpu fault
	cpuWorkPerRequest = 25 * time.Millisecond // busy work added to each affected request
	memoryCap         = 256 << 20             // most a memory fault retains
	memoryChunk       = 4 << 20               // retained every memoryTick
	memoryTick        = 100 * time.Millisecond
)

// activeFault is the scenario's fault with its defaults filled in, and whether it is on.
type activeFault struct {
	Fault
	on   atomic.Bool
	stop chan struct{} // closed to stop the fault's goroutines
	wg   sync.WaitGroup
}

// faultOn reports whether a fault of kind is on for target right now.
func (r *runner) faultOn(target, kind string) bool {
	f := r.fault
	return f.Kind == kind && f.Target == target && f.on.Load()
}

// activate switches the fault on and returns the wall-clock time it took effect.
func (r *runner) activate() (time.Time, error) {
	f := r.fault
	s := r.services[f.Target] // nil for dependencies
	f.stop = make(chan struct{})
	var start time.Time
	switch {
	case s == nil:
		start = time.Now()
		f.on.Store(true)
	case f.Kind == FaultDown:
		start = time.Now()
		s.downFrom.Store(start.UnixNano())
		s.down.Store(true)
		f.on.Store(true)
		s.kill()
	case f.Kind == FaultBadDeploy:
		s.v2.Store(s.newTelemetry("2.0.0"))
		start = time.Now()
		s.deployed.Store(true)
		f.on.Store(true)
	case f.Kind == FaultCPU:
		start = time.Now()
		f.on.Store(true)
		for range cpuBurners {
			f.wg.Go(func() { burn(f.stop) })
		}
	case f.Kind == FaultMemory:
		start = time.Now()
		f.on.Store(true)
		f.wg.Go(func() { s.growMemory(f.stop) })
	default:
		start = time.Now()
		f.on.Store(true)
	}
	r.log.Info("fault on", "kind", f.Kind, "target", f.Target, "share", f.Share)
	return start, nil
}

// deactivate switches the fault off and returns the wall-clock time it did. Every effect
// of the fault lies between activate's time and this one.
func (r *runner) deactivate() (time.Time, error) {
	f := r.fault
	s := r.services[f.Target]
	close(f.stop)
	f.wg.Wait()
	f.on.Store(false)
	if s != nil && f.Kind == FaultBadDeploy {
		s.deployed.Store(false) // rolled back: new requests go to 1.0.0
		s.v2.Load().drain(EntryTimeout)
	}
	end := time.Now()
	var err error
	if s != nil {
		switch f.Kind {
		case FaultDown:
			s.downTo.Store(end.UnixNano())
			s.down.Store(false)
			if err = s.listen(); err != nil {
				err = fmt.Errorf("restart %s after down fault: %w", s.def.name, err)
			}
		case FaultMemory:
			s.memMu.Lock()
			s.retained = nil
			s.memMu.Unlock()
			s.memBytes.Store(0)
		}
	}
	r.log.Info("fault off", "kind", f.Kind, "target", f.Target)
	return end, err
}

// burn keeps one core busy (about 90% of the time) until stop is closed.
func burn(stop <-chan struct{}) {
	for {
		select {
		case <-stop:
			return
		default:
		}
		spin(9 * time.Millisecond)
		time.Sleep(time.Millisecond)
	}
}

// spin is busy work for d of wall-clock time.
func spin(d time.Duration) {
	end := time.Now().Add(d)
	x := uint64(1)
	for time.Now().Before(end) {
		for i := range 1000 {
			x = x*6364136223846793005 + uint64(i)
		}
	}
	spinSink.Add(x & 1)
}

var spinSink atomic.Uint64 // keeps spin's loop from being optimised away

// growMemory retains a growing amount of memory, up to memoryCap, until stop is closed.
func (s *service) growMemory(stop <-chan struct{}) {
	t := time.NewTicker(memoryTick)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		if s.memBytes.Load()+memoryChunk > memoryCap {
			continue
		}
		b := make([]byte, memoryChunk)
		for i := 0; i < len(b); i += 4096 {
			b[i] = 1 // touch every page so it is resident
		}
		s.memMu.Lock()
		s.retained = append(s.retained, b)
		s.memMu.Unlock()
		s.memBytes.Add(memoryChunk)
	}
}

// memoryDelay is how much slower a request gets while a service retains n bytes: GC pressure
// and swapping, modelled as 10 ms plus 1 ms per 4 MiB.
func memoryDelay(n int64) time.Duration {
	return 10*time.Millisecond + time.Duration(n/(4<<20))*time.Millisecond
}
