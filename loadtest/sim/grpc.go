package sim

import (
	"context"
	"fmt"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
)

// rawCodec sends byte slices as they are, so the simulator's gRPC services need no protoc.
type rawCodec struct{}

func (rawCodec) Name() string { return "sim-raw" }

func (rawCodec) Marshal(v any) ([]byte, error) {
	switch b := v.(type) {
	case []byte:
		return b, nil
	case *[]byte:
		return *b, nil
	}
	return nil, fmt.Errorf("raw codec: cannot marshal %T", v)
}

func (rawCodec) Unmarshal(data []byte, v any) error {
	b, ok := v.(*[]byte)
	if !ok {
		return fmt.Errorf("raw codec: cannot unmarshal into %T", v)
	}
	*b = append((*b)[:0], data...)
	return nil
}

// grpcServiceName is the rpc.service of a simulated gRPC service, e.g. sim.PaymentService.
func grpcServiceName(service string) string {
	var b strings.Builder
	b.WriteString("sim.")
	for part := range strings.SplitSeq(service, "-") {
		if part == "" {
			continue
		}
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	b.WriteString("Service")
	return b.String()
}

// grpcDesc is the hand-written service description of s: one unary method, s.def.route.
func (s *service) grpcDesc() *grpc.ServiceDesc {
	return &grpc.ServiceDesc{
		ServiceName: grpcServiceName(s.def.name),
		HandlerType: (*any)(nil),
		Methods: []grpc.MethodDesc{{
			MethodName: s.def.route,
			Handler: func(srv any, ctx context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
				var req []byte
				if err := dec(&req); err != nil {
					return nil, err
				}
				return srv.(*service).serveGRPC(ctx)
			},
		}},
		Metadata: "sim",
	}
}

// mdCarrier lets the W3C propagator read and write gRPC metadata.
type mdCarrier metadata.MD

func (c mdCarrier) Get(key string) string {
	if v := metadata.MD(c).Get(key); len(v) > 0 {
		return v[0]
	}
	return ""
}

func (c mdCarrier) Set(key, value string) { metadata.MD(c).Set(key, value) }

func (c mdCarrier) Keys() []string {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	return keys
}
