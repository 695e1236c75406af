package hosts

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// BenchmarkHosts lists the hosts of the default 1h window over 200 agent hosts (4 CPU-time and
// 2 memory series each, every 10s; both rules every 15s) running 5 services each (every 15s):
// 2,400 series, ~770k samples in the window.
func BenchmarkHosts(b *testing.B) {
	const hosts, services = 200, 5
	ms := openStore(b)
	var samples []sample
	for h := range hosts {
		host := fmt.Sprintf("host-%03d", h)
		for at := -time.Hour + 10*time.Second; at <= 0; at += 10 * time.Second {
			for _, state := range []string{"idle", "user"} {
				for _, cpu := range []string{"0", "1"} {
					samples = append(samples, sample{at, 1, agentCPUTime, []string{"host_name", host, "cpu", cpu, "state", state}})
				}
				samples = append(samples, sample{at, 1, agentMemoryUsage, []string{"host_name", host, "state", state}})
			}
		}
		for at := -time.Hour + 15*time.Second; at <= 0; at += 15 * time.Second {
			samples = append(samples, rule(cpuRule, host, at, 0.5), rule(memoryRule, host, at, 0.5))
			for s := range services {
				samples = append(samples, info(fmt.Sprint("svc-", s), host, at))
			}
		}
	}
	write(b, ms, samples)
	a := newAPI(b, ms, nil)
	ctx := context.Background()
	list, err := a.Hosts(ctx, now.Add(-time.Hour), now)
	require.NoError(b, err)
	require.Len(b, list.Hosts, hosts)
	require.Len(b, list.Hosts[0].Services, services)
	require.NotNil(b, list.Hosts[0].CPUUtilization)

	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := a.Hosts(ctx, now.Add(-time.Hour), now); err != nil {
			b.Fatal(err)
		}
	}
}
