package sim

import (
	"fmt"
	"slices"
	"sort"
	"time"
)

// Node kinds.
const (
	KindService  = "service"
	KindDatabase = "database"
	KindCache    = "cache"
	KindExternal = "external"
)

// DefaultCallTimeout is the client timeout of a call when its topology sets none.
const DefaultCallTimeout = 500 * time.Millisecond

// topology is a built-in application: its services (real servers) and dependencies
// (simulated by their callers).
type topology struct {
	name     string
	timeout  time.Duration // default client timeout of every call
	slots    int           // max in-flight requests in a service's own work (queueing beyond)
	services []*serviceDef // services[0] is the entry service the load driver calls
	deps     []*dependencyDef
}

type serviceDef struct {
	name     string
	host     string
	grpc     bool
	method   string // HTTP method of its one route
	route    string // HTTP route, or the gRPC method name
	parallel bool   // calls its callees concurrently instead of one after another
	calls    []callDef
}

type callDef struct {
	to       string
	optional bool          // a failure is recorded on the CLIENT span, the caller still succeeds
	timeout  time.Duration // 0: the topology's
}

// dependencyDef is something that sends no spans: a database, a cache or an external API.
type dependencyDef struct {
	name    string // the node name Faultline derives: peer.service
	kind    string // database | cache | external
	system  string // db.system for databases and caches
	dbName  string
	address string // server.address (only an attribute: nothing is dialled)
	port    int
	url     string // url.full of external calls
	op      string // db operation or HTTP method
}

func (t *topology) service(name string) *serviceDef {
	for _, s := range t.services {
		if s.name == name {
			return s
		}
	}
	return nil
}

func (t *topology) dependency(name string) *dependencyDef {
	for _, d := range t.deps {
		if d.name == name {
			return d
		}
	}
	return nil
}

// callTimeout is the client timeout of c.
func (t *topology) callTimeout(c callDef) time.Duration {
	if c.timeout > 0 {
		return c.timeout
	}
	return t.timeout
}

// maxCallerTimeout is the longest client timeout of any call to name (0 when nothing calls it).
func (t *topology) maxCallerTimeout(name string) time.Duration {
	var m time.Duration
	for _, s := range t.services {
		for _, c := range s.calls {
			if c.to == name {
				m = max(m, t.callTimeout(c))
			}
		}
	}
	return m
}

func (t *topology) info() TopologyInfo {
	ti := TopologyInfo{Name: t.name}
	for _, s := range t.services {
		ti.Nodes = append(ti.Nodes, Node{Name: s.name, Kind: KindService, Host: s.host, GRPC: s.grpc})
	}
	for _, d := range t.deps {
		ti.Nodes = append(ti.Nodes, Node{Name: d.name, Kind: d.kind})
	}
	for _, s := range t.services {
		for _, c := range s.calls {
			ti.Edges = append(ti.Edges, Edge{Caller: s.name, Callee: c.to})
		}
	}
	return ti
}

// check verifies a built-in topology is well formed (every callee exists, names are unique).
func (t *topology) check() error {
	seen := map[string]bool{}
	for _, s := range t.services {
		if seen[s.name] {
			return fmt.Errorf("topology %s: duplicate node %q", t.name, s.name)
		}
		seen[s.name] = true
	}
	for _, d := range t.deps {
		if seen[d.name] {
			return fmt.Errorf("topology %s: duplicate node %q", t.name, d.name)
		}
		seen[d.name] = true
	}
	for _, s := range t.services {
		for _, c := range s.calls {
			if !seen[c.to] {
				return fmt.Errorf("topology %s: %s calls unknown node %q", t.name, s.name, c.to)
			}
		}
	}
	return nil
}

var builtins = map[string]func() *topology{
	"chain5":   chain5,
	"shop":     shop,
	"fanout40": fanout40,
}

// Topologies lists the built-in topology names, sorted.
func Topologies() []string {
	names := make([]string, 0, len(builtins))
	for n := range builtins {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func lookupTopology(name string) (*topology, error) {
	f, ok := builtins[name]
	if !ok {
		return nil, fmt.Errorf("unknown topology %q (known: %v)", name, Topologies())
	}
	t := f()
	if t.timeout <= 0 {
		t.timeout = DefaultCallTimeout
	}
	if t.slots <= 0 {
		t.slots = 2
	}
	for i, s := range t.services {
		if s.host == "" {
			s.host = fmt.Sprintf("sim-host-%d", i/3+1)
		}
		if s.method == "" {
			s.method = "GET"
		}
		if s.route == "" {
			if s.grpc {
				s.route = "Handle"
			} else {
				s.route = "/" + s.name
			}
		}
	}
	return t, t.check()
}

// Describe returns a built-in topology's nodes and edges.
func Describe(name string) (TopologyInfo, error) {
	t, err := lookupTopology(name)
	if err != nil {
		return TopologyInfo{}, err
	}
	return t.info(), nil
}

func postgres(name, dbName string) *dependencyDef {
	return &dependencyDef{
		name: name, kind: KindDatabase, system: "postgresql", dbName: dbName,
		address: name + ".sim.internal", port: 5432, op: "SELECT",
	}
}

func redis(name string) *dependencyDef {
	return &dependencyDef{
		name: name, kind: KindCache, system: "redis", dbName: "0",
		address: name + ".sim.internal", port: 6379, op: "GET",
	}
}

func external(name, host, path string) *dependencyDef {
	return &dependencyDef{
		name: name, kind: KindExternal, address: host, port: 443,
		url: "https://" + host + path, op: "POST",
	}
}

func calls(to ...string) []callDef {
	c := make([]callDef, len(to))
	for i, t := range to {
		c[i] = callDef{to: t}
	}
	return c
}

// chain5 is five HTTP services in a chain with a database at the end. Timeouts shrink
// along the chain, as they should, so only the direct caller of a slow service times out.
func chain5() *topology {
	names := []string{"frontend", "orders", "inventory", "pricing", "ledger"}
	t := &topology{name: "chain5", timeout: DefaultCallTimeout}
	for i, n := range names {
		s := &serviceDef{name: n, host: fmt.Sprintf("sim-host-%d", i/2+1), route: "/api/" + n}
		if i == 0 {
			s.route = "/"
		}
		if i+1 < len(names) {
			s.calls = []callDef{{to: names[i+1], timeout: DefaultCallTimeout + time.Duration(3-i)*100*time.Millisecond}}
		} else {
			s.calls = calls("ledger-db")
		}
		t.services = append(t.services, s)
	}
	t.deps = []*dependencyDef{postgres("ledger-db", "ledger")}
	return t
}

// depTimeout is the client timeout of the shop's database and cache calls: shorter than
// their callers' own, so a slow dependency times out where it is called.
const depTimeout = 300 * time.Millisecond

// shop is modelled on the OpenTelemetry demo's web shop.
func shop() *topology {
	return &topology{
		name:    "shop",
		timeout: DefaultCallTimeout,
		services: []*serviceDef{
			{name: "frontend", host: "sim-host-1", route: "/", calls: []callDef{
				{to: "catalog"},
				{to: "cart"},
				{to: "recommendation", optional: true},
				{to: "ad", optional: true},
				{to: "checkout", timeout: 2 * DefaultCallTimeout},
			}},
			{name: "catalog", host: "sim-host-2", route: "/products", calls: []callDef{{to: "postgres", timeout: depTimeout}}},
			{name: "cart", host: "sim-host-2", route: "/cart", calls: []callDef{{to: "redis", timeout: depTimeout}}},
			{
				name: "checkout", host: "sim-host-3", method: "POST", route: "/checkout",
				calls: calls("cart", "currency", "payment", "shipping", "email"),
			},
			{name: "recommendation", host: "sim-host-1", route: "/recommendations", calls: calls("catalog")},
			{name: "ad", host: "sim-host-1", route: "/ads"},
			{name: "payment", host: "sim-host-3", grpc: true, route: "Charge", calls: []callDef{{to: "payment-gateway", timeout: 400 * time.Millisecond}}},
			{name: "shipping", host: "sim-host-4", route: "/quote"},
			{name: "currency", host: "sim-host-4", route: "/convert"},
			{name: "email", host: "sim-host-4", method: "POST", route: "/send"},
		},
		deps: []*dependencyDef{
			redis("redis"),
			postgres("postgres", "catalog"),
			external("payment-gateway", "api.payment-gateway.example", "/v1/charges"),
		},
	}
}

// fanout40 is a frontend fanning out over six domain APIs to 30 workers, three of which call
// a third tier; 40 services in all, plus databases, a cache and external APIs.
func fanout40() *topology {
	t := &topology{name: "fanout40", timeout: DefaultCallTimeout}
	domains := []string{"users", "orders", "search", "media", "billing", "social"}
	front := &serviceDef{name: "frontend", route: "/", parallel: true}
	t.services = append(t.services, front)
	var tier2 []*serviceDef
	for _, d := range domains {
		api := &serviceDef{name: d + "-api", route: "/api/" + d, parallel: true}
		front.calls = append(front.calls, callDef{to: api.name, timeout: 1200 * time.Millisecond})
		t.services = append(t.services, api)
		for k := 1; k <= 5; k++ {
			w := &serviceDef{name: fmt.Sprintf("%s-svc-%d", d, k), route: fmt.Sprintf("/%s/%d", d, k)}
			api.calls = append(api.calls, callDef{to: w.name, timeout: 800 * time.Millisecond})
			tier2 = append(tier2, w)
		}
	}
	t.services = append(t.services, tier2...)
	tier3 := []*serviceDef{
		{name: "ledger", grpc: true, route: "Post", calls: calls("orders-db")},
		{name: "ranker", grpc: true, route: "Rank", calls: calls("search-index")},
		{name: "fraud", route: "/score", calls: calls("fraud-api")},
	}
	t.services = append(t.services, tier3...)
	add := func(svc string, to ...string) {
		s := t.service(svc)
		s.calls = append(s.calls, calls(to...)...)
	}
	add("users-svc-1", "users-db")
	add("users-svc-2", "sessions")
	add("orders-svc-1", "ledger")
	add("orders-svc-2", "orders-db")
	add("search-svc-1", "ranker")
	add("media-svc-1", "media-cdn")
	add("billing-svc-1", "fraud")
	add("social-svc-3", "sessions")
	idx := postgres("search-index", "search")
	idx.system = "elasticsearch"
	idx.port = 9200
	t.deps = []*dependencyDef{
		postgres("users-db", "users"),
		postgres("orders-db", "orders"),
		idx,
		redis("sessions"),
		external("media-cdn", "cdn.media.example", "/v2/assets"),
		external("fraud-api", "api.fraudcheck.example", "/v1/score"),
	}
	return t
}

// nodeNames lists every node name in t.
func (t *topology) nodeNames() []string {
	var n []string
	for _, s := range t.services {
		n = append(n, s.name)
	}
	for _, d := range t.deps {
		n = append(n, d.name)
	}
	return slices.Clip(n)
}
