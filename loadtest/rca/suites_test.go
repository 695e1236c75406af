package rca

import (
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/faultline/faultline/loadtest/sim"
)

// The suites under loadtest/suites load, name real nodes (sim.Describe) and cover what the
// full suite promises.
func TestShippedSuites(t *testing.T) {
	nodeKind := func(t *testing.T, topology, node string) string {
		t.Helper()
		info, err := sim.Describe(topology)
		require.NoError(t, err)
		for _, n := range info.Nodes {
			if n.Name == node {
				return n.Kind
			}
		}
		t.Fatalf("%s has no node %q", topology, node)
		return ""
	}

	t.Run("quick", func(t *testing.T) {
		s, err := LoadSuite("../suites/quick.yaml")
		require.NoError(t, err)
		assert.GreaterOrEqual(t, len(s.Scenarios), 5)
		assert.LessOrEqual(t, len(s.Scenarios), 8)
		for _, sc := range s.Scenarios {
			assert.Contains(t, []string{"chain5", "shop"}, sc.Topology, sc.Name)
			assert.Equal(t, time.Minute, sc.Fault.Duration, sc.Name)
		}
	})

	t.Run("full", func(t *testing.T) {
		s, err := LoadSuite("../suites/full.yaml")
		require.NoError(t, err)
		assert.GreaterOrEqual(t, len(s.Scenarios), 40)

		kindsOn := map[string][]string{} // topology -> fault kinds
		none, depTargets := 0, 0
		depKinds := map[string]bool{}
		for _, sc := range s.Scenarios {
			kindsOn[sc.Topology] = append(kindsOn[sc.Topology], sc.Fault.Kind)
			if sc.Fault.Kind == sim.FaultNone {
				none++
				continue
			}
			if k := nodeKind(t, sc.Topology, sc.Fault.Target); k != sim.KindService {
				depTargets++
				depKinds[k] = true
			}
		}
		for _, topo := range sim.Topologies() {
			for _, kind := range sim.FaultKinds {
				assert.Contains(t, kindsOn[topo], kind, "no %s scenario on %s", kind, topo)
			}
		}
		assert.GreaterOrEqual(t, none, 3, "none scenarios")
		assert.GreaterOrEqual(t, depTargets, 6, "scenarios with a dependency as the target")
		assert.True(t, depKinds[sim.KindDatabase] && depKinds[sim.KindCache] && depKinds[sim.KindExternal],
			"dependency kinds targeted: %v", depKinds)

		// Faults at the edge (the entry service) and deep down (a node the entry does not call).
		var entry, deep bool
		for _, sc := range s.Scenarios {
			info, err := sim.Describe(sc.Topology)
			require.NoError(t, err)
			if sc.Fault.Target == info.Nodes[0].Name {
				entry = true
			}
			if sc.Fault.Target != "" && !slices.Contains(info.Edges, sim.Edge{Caller: info.Nodes[0].Name, Callee: sc.Fault.Target}) && sc.Fault.Target != info.Nodes[0].Name {
				deep = true
			}
		}
		assert.True(t, entry, "no fault on an entry service")
		assert.True(t, deep, "no fault deep in a graph")
	})
}
