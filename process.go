package main

// What the provider process does around serving: its logging when nobody
// reads it, and the profiles `make bench -profile` asks for.

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/tootform/terraform-provider-mastodon/internal/provider"
)

// quietUnlessRead turns the plugin SDK's and the provider's logging off when
// Terraform will not show provider logs (none of TF_LOG, TF_LOG_PROVIDER...
// is set: Terraform passes its environment to the provider). The SDK logs
// every request at trace level by default; encoding those lines and sending
// them to Terraform, which throws them away, took a third of the provider's
// CPU time in a plan of 50 instances.
func quietUnlessRead() {
	vars := []string{"TF_LOG", "TF_LOG_PATH", "TF_LOG_PROVIDER", "TF_LOG_PROVIDER_MASTODON", "TF_LOG_SDK", "TF_LOG_SDK_PROTO", "TF_LOG_SDK_FRAMEWORK"}
	for _, v := range vars {
		if os.Getenv(v) != "" {
			return
		}
	}
	for _, v := range vars[3:] {
		_ = os.Setenv(v, "OFF")
	}
}

// profile writes the provider's CPU profile, the heap profile of the moment
// its live heap was largest, and, when it exits, its allocation profile
// into the folder provider.ProfileEnv names, if any.
func profile() (stop func()) {
	dir := os.Getenv(provider.ProfileEnv)
	if dir == "" {
		return func() {}
	}
	cpu, err := os.Create(filepath.Join(dir, fmt.Sprintf("cpu-%d.pprof", os.Getpid())))
	if err != nil || pprof.StartCPUProfile(cpu) != nil {
		return func() {}
	}
	done := make(chan struct{})
	go peakHeapProfile(filepath.Join(dir, fmt.Sprintf("heap-peak-%d.pprof", os.Getpid())), done)
	return func() {
		close(done)
		pprof.StopCPUProfile()
		_ = cpu.Close()
		runtime.GC()
		if heap, err := os.Create(filepath.Join(dir, fmt.Sprintf("heap-%d.pprof", os.Getpid()))); err == nil {
			_ = pprof.Lookup("allocs").WriteTo(heap, 0)
			_ = heap.Close()
		}
	}
}

// peakHeapProfile writes the heap profile each time the live heap (as the
// last GC found it) is larger than ever before, until done.
func peakHeapProfile(path string, done <-chan struct{}) {
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	var peak uint64
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-done:
			return
		case <-tick.C:
		}
		metrics.Read(sample)
		if live := sample[0].Value.Uint64(); live > peak+peak/20 {
			peak = live
			if f, err := os.Create(path); err == nil {
				_ = pprof.Lookup("heap").WriteTo(f, 0)
				_ = f.Close()
			}
			if f, err := os.Create(path + ".memclasses"); err == nil {
				all := metrics.All()
				samples := make([]metrics.Sample, 0, len(all))
				for _, d := range all {
					if strings.HasPrefix(d.Name, "/memory/classes/") || strings.HasPrefix(d.Name, "/gc/heap/") {
						samples = append(samples, metrics.Sample{Name: d.Name})
					}
				}
				metrics.Read(samples)
				for _, m := range samples {
					if m.Value.Kind() == metrics.KindUint64 {
						_, _ = fmt.Fprintf(f, "%s %d MiB\n", m.Name, m.Value.Uint64()>>20)
					}
				}
				_ = f.Close()
			}
		}
	}
}
