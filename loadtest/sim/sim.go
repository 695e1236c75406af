// Package sim is a microservice application that fails on purpose: real HTTP and gRPC
// services on 127.0.0.1, instrumented with the OpenTelemetry Go SDK, calling each other and
// uninstrumented dependencies, with faults injected at a chosen time. Each run reports its
// ground truth so that Faultline's root-cause answers can be scored.
package sim

import (
	"time"
)

// Fault kinds.
const (
	FaultNone       = "none"        // no fault: the right answer is "nothing is wrong"
	FaultError      = "error"       // the target answers errors (status Error, exception event)
	FaultLatency    = "latency"     // the target is slow; callers time out (the classic cascade)
	FaultDown       = "down"        // the target stops listening and sends nothing
	FaultCPU        = "cpu"         // the target's process burns CPU; it slows down
	FaultMemory     = "memory"      // the target's memory grows (bounded); it slows down
	FaultDrop       = "drop"        // the target drops connections without answering
	FaultRetryStorm = "retry_storm" // the target (a caller) retries its calls without backoff
	FaultBadDeploy  = "bad_deploy"  // the target moves to a new service.version that fails
)

// FaultKinds lists every kind, FaultNone first.
var FaultKinds = []string{FaultNone, FaultError, FaultLatency, FaultDown, FaultCPU, FaultMemory, FaultDrop, FaultRetryStorm, FaultBadDeploy}

// Fault is what goes wrong, where, when and for how much of the traffic.
type Fault struct {
	Kind     string        `yaml:"kind" json:"kind"`
	Target   string        `yaml:"target,omitempty" json:"target,omitempty"` // a service or dependency node name
	Start    time.Duration `yaml:"start,omitempty" json:"start,omitempty"`   // after the run starts
	Duration time.Duration `yaml:"duration,omitempty" json:"duration,omitempty"`
	Share    float64       `yaml:"share,omitempty" json:"share,omitempty"`     // of requests affected, 0 < share <= 1 (default 1)
	Latency  time.Duration `yaml:"latency,omitempty" json:"latency,omitempty"` // added by latency faults (default: past the callers' timeout)
}

// Scenario is one run: a topology, a fault, a seed and a load.
type Scenario struct {
	Name     string        `yaml:"name" json:"name"`
	Topology string        `yaml:"topology" json:"topology"` // a built-in topology name (see Topologies)
	Fault    Fault         `yaml:"fault" json:"fault"`
	Seed     int64         `yaml:"seed" json:"seed"`
	Rate     float64       `yaml:"rate,omitempty" json:"rate,omitempty"`         // entry requests per second (default 20)
	Duration time.Duration `yaml:"duration,omitempty" json:"duration,omitempty"` // whole run (default: fault end + 30s)
}

// Node is a service or a dependency as Faultline names it (see shared/DESIGN.md: a dependency
// that sends no spans is named from peer.service, then db.system/db.name, then
// server.address[:port]).
type Node struct {
	Name string `json:"name"`
	Kind string `json:"kind"` // service | database | cache | external
	Host string `json:"host,omitempty"`
	GRPC bool   `json:"grpc,omitempty"`
}

// Edge is a caller → callee call in the topology.
type Edge struct {
	Caller string `json:"caller"`
	Callee string `json:"callee"`
}

// TopologyInfo describes a topology as ground truth.
type TopologyInfo struct {
	Name  string `json:"name"`
	Nodes []Node `json:"nodes"`
	Edges []Edge `json:"edges"`
}

// GroundTruth is what actually happened in a run, printed as JSON.
type GroundTruth struct {
	Scenario      string       `json:"scenario"`
	Seed          int64        `json:"seed"`
	Topology      TopologyInfo `json:"topology"`
	Fault         Fault        `json:"fault"`
	FaultyService string       `json:"faulty_service"` // "" for FaultNone
	RunStart      time.Time    `json:"run_start"`
	RunEnd        time.Time    `json:"run_end"`
	FaultStart    time.Time    `json:"fault_start,omitzero"` // wall clock when the fault was switched on
	FaultEnd      time.Time    `json:"fault_end,omitzero"`
	Requests      int64        `json:"requests"`       // entry requests sent
	FailedEntries int64        `json:"failed_entries"` // entry requests that failed
	// TimeScale is Options.TimeScale when it was not 1: the fault's and the run's durations
	// above are as asked; the wall-clock times are what happened after scaling.
	TimeScale float64 `json:"time_scale,omitempty"`
}
