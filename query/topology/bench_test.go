package topology

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

// benchFlows is 40 services, each with one server operation, and 100 distinct edges among
// them and 10 databases, with the baseline and window traffic of a steady system.
func benchFlows() []flow {
	const services = 40
	var flows []flow
	for i := range services {
		flows = append(flows, flow{
			service: fmt.Sprintf("svc-%02d", i), operation: "handle",
			baseReq: 50, baseErr: 1, winReq: 60, winErr: 2, baseLatency: 0.07, latency: 0.2,
		})
	}
	seen := map[edgeKey]bool{}
	for n := 0; len(seen) < 100; n++ {
		caller := fmt.Sprintf("svc-%02d", n%services)
		callee, kind := fmt.Sprintf("svc-%02d", (n*7+n/services+1)%services), "service"
		if n%5 == 4 {
			callee, kind = fmt.Sprintf("db-%d", (n/5)%10), "database"
		}
		k := edgeKey{caller, callee}
		if caller == callee || seen[k] {
			continue
		}
		seen[k] = true
		flows = append(flows, flow{
			caller: caller, callee: callee, kind: kind,
			baseReq: 20, baseErr: 0, winReq: 25, winErr: 1, baseLatency: 0.03, latency: 0.04,
		})
	}
	return flows
}

// BenchmarkTopology computes the topology of a 15-minute window with its 1h baseline over 40
// services and 100 edges, written every 15s: 2,100 series, ~716k samples read per call.
func BenchmarkTopology(b *testing.B) {
	db := openDB(b)
	writeFlows(b, db, benchFlows())
	a := newAPI(b, db)
	ctx := context.Background()

	topo, err := a.Topology(ctx, winStart, winEnd)
	require.NoError(b, err)
	require.Len(b, topo.Edges, 100)
	require.Len(b, topo.Nodes, 50)

	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := a.Topology(ctx, winStart, winEnd); err != nil {
			b.Fatal(err)
		}
	}
}
