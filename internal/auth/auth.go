// Package auth checks the shared bearer token that every Faultline listener can require.
package auth

import (
	"context"
	"crypto/subtle"
	"net/http"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// Valid reports whether an Authorization header value carries token as a bearer token.
// The comparison takes the same time whatever the header holds.
func Valid(header, token string) bool {
	const prefix = "bearer "
	if len(header) < len(prefix) || !strings.EqualFold(header[:len(prefix)], prefix) {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(strings.TrimSpace(header[len(prefix):])), []byte(token)) == 1
}

// HTTP wraps next so that requests without the token get 401. An empty token disables the
// check. Requests for which open returns true are served without a token (readiness probes,
// the web app's static files); a nil open leaves nothing open.
func HTTP(token string, next http.Handler, open func(*http.Request) bool) http.Handler {
	if token == "" {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if open != nil && open(r) {
			next.ServeHTTP(w, r)
			return
		}
		if !Valid(r.Header.Get("Authorization"), token) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="faultline"`)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"error":"missing or invalid bearer token"}` + "\n"))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// GRPCServerOptions returns interceptors rejecting calls without the token with
// Unauthenticated. An empty token returns no options.
func GRPCServerOptions(token string) []grpc.ServerOption {
	if token == "" {
		return nil
	}
	return []grpc.ServerOption{
		grpc.ChainUnaryInterceptor(unaryInterceptor(token)),
		grpc.ChainStreamInterceptor(func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) error {
			if err := checkMetadata(ss.Context(), token); err != nil {
				return err
			}
			return h(srv, ss)
		}),
	}
}

func unaryInterceptor(token string) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		if err := checkMetadata(ctx, token); err != nil {
			return nil, err
		}
		return h(ctx, req)
	}
}

func checkMetadata(ctx context.Context, token string) error {
	md, _ := metadata.FromIncomingContext(ctx)
	for _, v := range md.Get("authorization") {
		if Valid(v, token) {
			return nil
		}
	}
	return status.Error(codes.Unauthenticated, "missing or invalid bearer token")
}
