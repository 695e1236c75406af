package auth

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

func TestValid(t *testing.T) {
	cases := []struct {
		header string
		want   bool
	}{
		{"Bearer s3cret", true},
		{"bearer s3cret", true},
		{"Bearer  s3cret ", true},
		{"Bearer s3cre", false},
		{"Bearer s3crett", false},
		{"Basic s3cret", false},
		{"s3cret", false},
		{"", false},
		{"Bearer ", false},
	}
	for _, c := range cases {
		require.Equal(t, c.want, Valid(c.header, "s3cret"), "%q", c.header)
	}
}

func TestHTTP(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) })
	var asked []string
	open := func(r *http.Request) bool {
		asked = append(asked, r.URL.Path)
		return r.URL.Path == "/ready" || r.URL.Path == "/"
	}
	do := func(h http.Handler, path, header string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodGet, path, nil)
		if header != "" {
			r.Header.Set("Authorization", header)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	h := HTTP("tok", ok, open)
	w := do(h, "/api/v1/services", "")
	require.Equal(t, http.StatusUnauthorized, w.Code)
	require.Equal(t, `Bearer realm="faultline"`, w.Header().Get("WWW-Authenticate"))
	require.JSONEq(t, `{"error":"missing or invalid bearer token"}`, w.Body.String())
	require.Equal(t, http.StatusUnauthorized, do(h, "/api/v1/services", "Bearer nope").Code)
	require.Equal(t, http.StatusTeapot, do(h, "/api/v1/services", "Bearer tok").Code)
	require.Equal(t, http.StatusTeapot, do(h, "/ready", "").Code)
	require.Equal(t, http.StatusTeapot, do(h, "/", "").Code)
	require.Equal(t, http.StatusTeapot, do(h, "/", "Bearer nope").Code, "an open path ignores a wrong token")
	require.Equal(t, []string{"/api/v1/services", "/api/v1/services", "/api/v1/services", "/ready", "/", "/"}, asked)

	nothingOpen := HTTP("tok", ok, nil)
	require.Equal(t, http.StatusUnauthorized, do(nothingOpen, "/ready", "").Code, "nil open: everything needs the token")
	require.Equal(t, http.StatusTeapot, do(nothingOpen, "/ready", "Bearer tok").Code)

	require.Equal(t, http.StatusTeapot, do(HTTP("", ok, nil), "/x", "").Code, "no token, no check")
}

func TestGRPCServerOptions(t *testing.T) {
	require.Nil(t, GRPCServerOptions(""))
	require.Len(t, GRPCServerOptions("tok"), 2)
	check := func(md metadata.MD) codes.Code {
		ctx := metadata.NewIncomingContext(context.Background(), md)
		_, err := unaryInterceptor("tok")(ctx, nil, &grpc.UnaryServerInfo{}, func(context.Context, any) (any, error) { return "ok", nil })
		return status.Code(err)
	}
	require.Equal(t, codes.Unauthenticated, check(metadata.MD{}))
	require.Equal(t, codes.Unauthenticated, check(metadata.Pairs("authorization", "Bearer no")))
	require.Equal(t, codes.OK, check(metadata.Pairs("authorization", "Bearer tok")))
}
