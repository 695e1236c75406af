package servicegraph

import (
	"strconv"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/faultline/faultline/internal/metricstore"
)

// UnknownCallee names the callee of a CLIENT span that carries no attribute naming it.
const UnknownCallee = "unknown"

// calleeAttrs are the attributes of a CLIENT/PRODUCER span that name its callee when no child
// span arrives. Old and new semantic-convention spellings are folded together while scanning.
type calleeAttrs struct {
	peerService string // peer.service
	dbSystem    string // db.system, db.system.name
	dbName      string // db.name, db.namespace
	host        string // server.address, else net.peer.name, else http.host, else url.full's host
	port        int64  // server.port, else net.peer.port (with the host they came with); 0 if none
	messaging   string // messaging.system
}

// scanCalleeAttrs reads the callee-naming attributes in one pass over m.
func scanCalleeAttrs(m pcommon.Map) calleeAttrs {
	var (
		a                                 calleeAttrs
		serverAddr, netPeerName, httpHost string
		urlFull                           string
		serverPort, netPeerPort           int64
	)
	for k, v := range m.All() {
		switch k {
		case "peer.service":
			a.peerService = str(v)
		case "db.system", "db.system.name":
			a.dbSystem = str(v)
		case "db.name", "db.namespace":
			a.dbName = str(v)
		case "server.address":
			serverAddr = str(v)
		case "server.port":
			serverPort = port(v)
		case "net.peer.name":
			netPeerName = str(v)
		case "net.peer.port":
			netPeerPort = port(v)
		case "http.host":
			httpHost = str(v)
		case "url.full", "http.url":
			urlFull = str(v)
		case "messaging.system":
			a.messaging = str(v)
		}
	}
	switch {
	case serverAddr != "":
		a.host, a.port = serverAddr, serverPort
	case netPeerName != "":
		a.host, a.port = netPeerName, netPeerPort
	case httpHost != "":
		a.host = httpHost // already host[:port]
	case urlFull != "":
		a.host = urlHost(urlFull) // already host[:port]
	}
	return a
}

func str(v pcommon.Value) string {
	if v.Type() == pcommon.ValueTypeStr {
		return v.Str()
	}
	return ""
}

func port(v pcommon.Value) int64 {
	switch v.Type() {
	case pcommon.ValueTypeInt:
		return v.Int()
	case pcommon.ValueTypeStr:
		p, err := strconv.ParseInt(v.Str(), 10, 32)
		if err == nil {
			return p
		}
	}
	return 0
}

// urlHost is the host[:port] of an absolute URL, without allocating; "" if u has none.
func urlHost(u string) string {
	i := strings.Index(u, "://")
	if i < 0 {
		return ""
	}
	h := u[i+3:]
	if j := strings.IndexAny(h, "/?#"); j >= 0 {
		h = h[:j]
	}
	if j := strings.LastIndexByte(h, '@'); j >= 0 {
		h = h[j+1:]
	}
	return h
}

// isCacheSystem reports whether a db.system value is a cache rather than a database.
func isCacheSystem(s string) bool {
	switch strings.ToLower(s) {
	case "redis", "memcached", "valkey":
		return true
	}
	return false
}

// hostPort is the key of the generator's cache of "host:port" names.
type hostPort struct {
	host string
	port int64
}

// maxHostPortNames bounds the cache of "host:port" strings; it is emptied when full.
const maxHostPortNames = 10_000

// resolveCallee names the virtual node a lone CLIENT span called, and its kind, as DESIGN.md's
// "Identity of things" says. Called under g.mu.
//
// Name: peer.service; else db.name, else db.system; else server.address[:server.port] (with
// net.peer.name[:net.peer.port], http.host and url.full's host as older fallbacks); else
// messaging.system; else "unknown".
//
// Kind: cache if db.system is a cache (redis, memcached, valkey); database if db.system or
// db.name is set; external if the span names a peer (peer.service, an address, a URL, a
// messaging system); otherwise uninstrumented. Whatever the attributes say, a callee whose name
// is a service that sent its own SERVER/CONSUMER spans within knownServiceTTL is
// "uninstrumented": an instrumented service that answered nothing this time, most likely down.
// When the name came from an address and the address's host alone is such a service
// ("checkout:8080" and service "checkout"), the node is named after the service.
func (g *Generator) resolveCallee(a *calleeAttrs, now int64) (name, kind string) {
	name, kind, fromHost := a.nameAndKind(g.hostPortName)
	if g.knownService(name, now) {
		return name, metricstore.KindUninstrumented
	}
	if fromHost {
		host := a.host
		if a.port == 0 {
			// http.host and url.full carry their port inside.
			if i := strings.LastIndexByte(host, ':'); i > 0 && !strings.Contains(host[i:], "]") {
				host = host[:i]
			}
		}
		if host != name && g.knownService(host, now) {
			return host, metricstore.KindUninstrumented
		}
	}
	return name, kind
}

// nameAndKind is the naming rule of resolveCallee from the attributes alone; hostPort joins
// an address and a port.
func (a *calleeAttrs) nameAndKind(hostPort func(host string, port int64) string) (name, kind string, fromHost bool) {
	switch {
	case a.peerService != "":
		name = a.peerService
	case a.dbName != "":
		name = a.dbName
	case a.dbSystem != "":
		name = a.dbSystem
	case a.host != "":
		name, fromHost = hostPort(a.host, a.port), true
	case a.messaging != "":
		name = a.messaging
	default:
		name = UnknownCallee
	}
	switch {
	case a.dbSystem != "" && isCacheSystem(a.dbSystem):
		kind = metricstore.KindCache
	case a.dbSystem != "" || a.dbName != "":
		kind = metricstore.KindDatabase
	case a.peerService != "" || a.host != "" || a.messaging != "":
		kind = metricstore.KindExternal
	default:
		kind = metricstore.KindUninstrumented
	}
	return name, kind, fromHost
}

// CalleeOf names the callee of a CLIENT/PRODUCER span from its attributes, as the service
// graph names a callee that sent no span of its own, with the kind its attributes suggest.
// Unlike the generator it cannot tell whether the name is an instrumented service; the RCA
// engine, which reads whole traces, decides that.
func CalleeOf(attrs pcommon.Map) (name, kind string) {
	a := scanCalleeAttrs(attrs)
	name, kind, _ = a.nameAndKind(func(host string, port int64) string {
		if port <= 0 {
			return host
		}
		return host + ":" + strconv.FormatInt(port, 10)
	})
	return name, kind
}

// hostPortName is host, or "host:port" from a bounded cache so that naming the same callee
// again allocates nothing.
func (g *Generator) hostPortName(host string, port int64) string {
	if port <= 0 {
		return host
	}
	k := hostPort{host, port}
	if s, ok := g.hostPorts[k]; ok {
		return s
	}
	if len(g.hostPorts) >= maxHostPortNames {
		clear(g.hostPorts)
	}
	s := host + ":" + strconv.FormatInt(port, 10)
	g.hostPorts[k] = s
	return s
}

// knownService reports whether name sent SERVER/CONSUMER spans within knownServiceTTL.
func (g *Generator) knownService(name string, now int64) bool {
	seen, ok := g.known[name]
	return ok && now-seen <= int64(knownServiceTTL)
}
