package ui

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var (
	indexHTML = `<!doctype html><html><head><title>Faultline</title>` +
		`<script type="module" crossorigin src="/assets/index-3f2a1b.js"></script></head>` +
		`<body><div id="root"></div></body></html>` + strings.Repeat("\n<!-- padding so gzip pays -->", 20)
	appJS       = strings.Repeat("export function render(){return document.getElementById('root')}\n", 200)
	appCSS      = strings.Repeat(".topology{display:grid}\n", 100)
	logoPNG     = "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
	placeholder = "<!doctype html><h1>The Faultline web UI has not been built</h1>"
)

func builtFS() fstest.MapFS {
	return fstest.MapFS{
		"placeholder.html":             {Data: []byte(placeholder)},
		"dist/index.html":              {Data: []byte(indexHTML)},
		"dist/favicon.svg":             {Data: []byte(`<svg xmlns="http://www.w3.org/2000/svg"></svg>`)},
		"dist/assets/index-3f2a1b.js":  {Data: []byte(appJS)},
		"dist/assets/index-9c8d7e.css": {Data: []byte(appCSS)},
		"dist/assets/logo-5e6f.png":    {Data: []byte(logoPNG)},
		"dist/assets/_virtual-1a2b.js": {Data: []byte("export {}\n")},
	}
}

func unbuiltFS() fstest.MapFS {
	return fstest.MapFS{"placeholder.html": {Data: []byte(placeholder)}}
}

// serve sends one request through h and returns the recorded answer.
func serve(h http.Handler, method, target string, header map[string]string) *http.Response {
	r := httptest.NewRequest(method, target, nil)
	for k, v := range header {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Result()
}

func readBody(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(b)
}

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

func TestBuiltServesFilesAndAppRoutes(t *testing.T) {
	h := newHandler(builtFS(), discard())
	cases := []struct {
		name, path, status, ctype, cache, body string
	}{
		{"root is index.html", "/", "200", "text/html; charset=utf-8", "no-cache", indexHTML},
		{"index.html by name", "/index.html", "200", "text/html; charset=utf-8", "no-cache", indexHTML},
		{"app route", "/traces/4bf92f3577b34da6a3ce929d0e0e4736", "200", "text/html; charset=utf-8", "no-cache", indexHTML},
		{"app route with a dot", "/hosts/web-1.example.com", "200", "text/html; charset=utf-8", "no-cache", indexHTML},
		{"app route with query", "/logs?service=checkout&q=timeout", "200", "text/html; charset=utf-8", "no-cache", indexHTML},
		{"trailing slash", "/incidents/", "200", "text/html; charset=utf-8", "no-cache", indexHTML},
		{"hashed script", "/assets/index-3f2a1b.js", "200", "text/javascript; charset=utf-8", cacheImmutable, appJS},
		{"hashed style", "/assets/index-9c8d7e.css", "200", "text/css; charset=utf-8", cacheImmutable, appCSS},
		{"hashed image", "/assets/logo-5e6f.png", "200", "image/png", cacheImmutable, logoPNG},
		{"underscore name", "/assets/_virtual-1a2b.js", "200", "text/javascript; charset=utf-8", cacheImmutable, "export {}\n"},
		{"unhashed file", "/favicon.svg", "200", "image/svg+xml", "no-cache", `<svg xmlns="http://www.w3.org/2000/svg"></svg>`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp := serve(h, http.MethodGet, c.path, nil)
			require.Equal(t, c.status, fmt.Sprint(resp.StatusCode))
			require.Equal(t, c.ctype, resp.Header.Get("Content-Type"))
			require.Equal(t, c.cache, resp.Header.Get("Cache-Control"))
			require.NotEmpty(t, resp.Header.Get("ETag"))
			require.Empty(t, resp.Header.Get("Content-Encoding"), "no Accept-Encoding, no gzip")
			require.Equal(t, c.body, readBody(t, resp))
		})
	}
}

func TestMissingAssetIsNotFound(t *testing.T) {
	h := newHandler(builtFS(), discard())
	for _, p := range []string{"/assets/index-000000.js", "/assets/", "/assets", "/assets/sub/x.css"} {
		resp := serve(h, http.MethodGet, p, nil)
		body := readBody(t, resp)
		require.Equal(t, http.StatusNotFound, resp.StatusCode, p)
		require.NotContains(t, body, "<div id=\"root\">", "%s: a missing script must not get index.html", p)
		require.Contains(t, resp.Header.Get("Content-Security-Policy"), "default-src 'self'", p)
	}
}

func TestAPIPathsGetJSONNotFound(t *testing.T) {
	for name, fsys := range map[string]fs.FS{"built": builtFS(), "not built": unbuiltFS()} {
		h := newHandler(fsys, discard())
		for _, method := range []string{http.MethodGet, http.MethodPost, http.MethodDelete} {
			for _, p := range []string{
				"/api", "/api/v1/nope", "/api/v1/traces/x/y", "/prometheus/api/v1/nope", "/jaeger/api/nope",
				"/debug/nope", "/assets/../api/v1/x", "/api/v1/<script>alert(1)</script>",
			} {
				r := httptest.NewRequest(method, "/", nil)
				r.URL.Path = p // as net/http hands it over: decoded, not cleaned
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				desc := name + " " + method + " " + p
				require.Equal(t, http.StatusNotFound, w.Code, desc)
				require.Equal(t, "application/json", w.Header().Get("Content-Type"), desc)
				require.NotContains(t, w.Body.String(), "<", "%s: the echoed path must not be markup", desc)
				var got struct{ Error string }
				require.NoError(t, json.Unmarshal(w.Body.Bytes(), &got), desc)
				require.Equal(t, "no such endpoint: "+p, got.Error, desc)
			}
		}
	}
	// Prefixes match whole segments only: these are app routes.
	h := newHandler(builtFS(), discard())
	for _, p := range []string{"/apis", "/prometheus-rules", "/debugging"} {
		resp := serve(h, http.MethodGet, p, nil)
		require.Equal(t, http.StatusOK, resp.StatusCode, p)
		require.Equal(t, indexHTML, readBody(t, resp), p)
	}
}

func TestOtherMethodsAreNotAllowed(t *testing.T) {
	for name, fsys := range map[string]fs.FS{"built": builtFS(), "not built": unbuiltFS()} {
		h := newHandler(fsys, discard())
		for _, method := range []string{http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodOptions, http.MethodPatch} {
			for _, p := range []string{"/", "/traces/abc", "/assets/index-3f2a1b.js"} {
				resp := serve(h, method, p, nil)
				_ = readBody(t, resp)
				require.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode, "%s %s %s", name, method, p)
				require.Equal(t, "GET, HEAD", resp.Header.Get("Allow"))
			}
		}
	}
}

func TestHead(t *testing.T) {
	h := newHandler(builtFS(), discard())
	resp := serve(h, http.MethodHead, "/traces/abc", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, fmt.Sprint(len(indexHTML)), resp.Header.Get("Content-Length"))
	require.Empty(t, readBody(t, resp))

	resp = serve(newHandler(unbuiltFS(), discard()), http.MethodHead, "/", nil)
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	require.Empty(t, readBody(t, resp))
}

func TestNotBuiltServesThePlaceholder(t *testing.T) {
	var logs bytes.Buffer
	h := newHandler(unbuiltFS(), slog.New(slog.NewTextHandler(&logs, nil)))
	for _, p := range []string{"/", "/index.html", "/traces/abc", "/logs"} {
		resp := serve(h, http.MethodGet, p, nil)
		require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, p)
		require.Equal(t, "text/html; charset=utf-8", resp.Header.Get("Content-Type"), p)
		require.Equal(t, "no-store", resp.Header.Get("Cache-Control"), p)
		require.Equal(t, placeholder, readBody(t, resp), p)
	}
	resp := serve(h, http.MethodGet, "/assets/index-3f2a1b.js", nil)
	require.Equal(t, http.StatusNotFound, resp.StatusCode, "no build, no scripts")
	require.NotContains(t, readBody(t, resp), placeholder)
	require.Equal(t, 1, strings.Count(logs.String(), "level=INFO"), logs.String())
	require.Contains(t, logs.String(), "web UI is not built")

	// The built handler says nothing at start-up.
	logs.Reset()
	newHandler(builtFS(), slog.New(slog.NewTextHandler(&logs, nil)))
	require.Empty(t, logs.String())

	// A dist/ without index.html (an interrupted build) is not a build.
	partial := builtFS()
	delete(partial, "dist/index.html")
	resp = serve(newHandler(partial, discard()), http.MethodGet, "/", nil)
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	_ = readBody(t, resp)
}

func TestSecurityHeadersOnEveryAnswer(t *testing.T) {
	for name, fsys := range map[string]fs.FS{"built": builtFS(), "not built": unbuiltFS()} {
		h := newHandler(fsys, discard())
		for _, req := range []struct{ method, path string }{
			{http.MethodGet, "/"},
			{http.MethodGet, "/traces/abc"},
			{http.MethodGet, "/assets/index-3f2a1b.js"},
			{http.MethodGet, "/assets/missing.js"},
			{http.MethodGet, "/api/v1/nope"},
			{http.MethodPost, "/"},
			{http.MethodHead, "/"},
		} {
			resp := serve(h, req.method, req.path, nil)
			_ = readBody(t, resp)
			desc := name + " " + req.method + " " + req.path
			require.Equal(t, "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "+
				"font-src 'self'; connect-src 'self'; worker-src 'self' blob:; object-src 'none'; base-uri 'none'; "+
				"form-action 'self'; frame-ancestors 'none'", resp.Header.Get("Content-Security-Policy"), desc)
			require.Equal(t, "nosniff", resp.Header.Get("X-Content-Type-Options"), desc)
			require.Equal(t, "same-origin", resp.Header.Get("Referrer-Policy"), desc)
			require.Equal(t, "DENY", resp.Header.Get("X-Frame-Options"), desc)
		}
	}
}

func gunzip(t *testing.T, b string) string {
	t.Helper()
	zr, err := gzip.NewReader(strings.NewReader(b))
	require.NoError(t, err)
	out, err := io.ReadAll(zr)
	require.NoError(t, err)
	return string(out)
}

func TestGzip(t *testing.T) {
	h := newHandler(builtFS(), discard())
	for _, c := range []struct{ path, want string }{
		{"/assets/index-3f2a1b.js", appJS}, {"/assets/index-9c8d7e.css", appCSS}, {"/", indexHTML}, {"/hosts/x", indexHTML},
	} {
		resp := serve(h, http.MethodGet, c.path, map[string]string{"Accept-Encoding": "br, gzip, deflate"})
		body := readBody(t, resp)
		require.Equal(t, "gzip", resp.Header.Get("Content-Encoding"), c.path)
		require.Equal(t, "Accept-Encoding", resp.Header.Get("Vary"), c.path)
		require.Less(t, len(body), len(c.want), c.path)
		require.Equal(t, c.want, gunzip(t, body), c.path)

		resp = serve(h, http.MethodGet, c.path, nil)
		require.Empty(t, resp.Header.Get("Content-Encoding"))
		require.Equal(t, "Accept-Encoding", resp.Header.Get("Vary"), "%s: caches must key on the encoding", c.path)
		require.Equal(t, c.want, readBody(t, resp))
	}
	// Binary files are served as they are, and do not vary.
	resp := serve(h, http.MethodGet, "/assets/logo-5e6f.png", map[string]string{"Accept-Encoding": "gzip"})
	require.Empty(t, resp.Header.Get("Content-Encoding"))
	require.Empty(t, resp.Header.Get("Vary"))
	require.Equal(t, logoPNG, readBody(t, resp))
	// Too small to gain from compression: identity, still varying.
	resp = serve(h, http.MethodGet, "/assets/_virtual-1a2b.js", map[string]string{"Accept-Encoding": "gzip"})
	require.Empty(t, resp.Header.Get("Content-Encoding"))
	require.Equal(t, "export {}\n", readBody(t, resp))
	// Refused explicitly.
	resp = serve(h, http.MethodGet, "/", map[string]string{"Accept-Encoding": "gzip;q=0, *"})
	require.Empty(t, resp.Header.Get("Content-Encoding"))
	require.Equal(t, indexHTML, readBody(t, resp))
}

func TestAcceptsGzip(t *testing.T) {
	cases := map[string]bool{
		"":                   false,
		"gzip":               true,
		"GZIP":               true,
		"br, gzip;q=0.5":     true,
		"gzip ; q=1.0":       true,
		"gzip;q=0":           false,
		"gzip;q=0.000":       false,
		"deflate, br":        false,
		"*":                  true,
		"*;q=0":              false,
		"gzip;q=0, *":        false,
		"br;q=1, *;q=0.1":    true,
		"identity":           false,
		"x-gzip":             true,
		"gzip;level=1;q=0.2": true,
	}
	for header, want := range cases {
		require.Equal(t, want, acceptsGzip([]string{header}), "%q", header)
	}
	require.True(t, acceptsGzip([]string{"br", "gzip"}), "several header lines")
}

func TestETagRevalidation(t *testing.T) {
	h := newHandler(builtFS(), discard())
	for _, p := range []string{"/", "/assets/index-3f2a1b.js", "/traces/abc", "/assets/logo-5e6f.png"} {
		first := serve(h, http.MethodGet, p, nil)
		_ = readBody(t, first)
		etag := first.Header.Get("ETag")
		require.Regexp(t, `^"[0-9a-f]{24}"$`, etag, p)

		for _, inm := range []string{etag, "W/" + etag, `"other", ` + etag, "*"} {
			resp := serve(h, http.MethodGet, p, map[string]string{"If-None-Match": inm})
			require.Equal(t, http.StatusNotModified, resp.StatusCode, "%s If-None-Match: %s", p, inm)
			require.Empty(t, readBody(t, resp))
			require.Equal(t, etag, resp.Header.Get("ETag"))
			require.NotEmpty(t, resp.Header.Get("Cache-Control"), "a 304 keeps the caching policy")
		}
		resp := serve(h, http.MethodGet, p, map[string]string{"If-None-Match": `"stale"`})
		require.Equal(t, http.StatusOK, resp.StatusCode, p)
		_ = readBody(t, resp)
	}

	// Each encoding is a representation of its own: its own validator.
	gz := serve(h, http.MethodGet, "/", map[string]string{"Accept-Encoding": "gzip"})
	_ = readBody(t, gz)
	plain := serve(h, http.MethodGet, "/", nil)
	_ = readBody(t, plain)
	require.NotEqual(t, plain.Header.Get("ETag"), gz.Header.Get("ETag"))
	resp := serve(h, http.MethodGet, "/", map[string]string{"Accept-Encoding": "gzip", "If-None-Match": gz.Header.Get("ETag")})
	require.Equal(t, http.StatusNotModified, resp.StatusCode)
	resp = serve(h, http.MethodGet, "/", map[string]string{"Accept-Encoding": "gzip", "If-None-Match": plain.Header.Get("ETag")})
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "gzip", resp.Header.Get("Content-Encoding"))
	_ = readBody(t, resp)

	// The validator is the content's: another build of the same file has another ETag.
	other := builtFS()
	other["dist/index.html"] = &fstest.MapFile{Data: []byte(indexHTML + "<!-- v2 -->")}
	resp = serve(newHandler(other, discard()), http.MethodGet, "/", nil)
	_ = readBody(t, resp)
	require.NotEqual(t, plain.Header.Get("ETag"), resp.Header.Get("ETag"))
}

// rawGet sends target byte for byte (no client-side cleaning) to addr and returns the answer.
func rawGet(t *testing.T, addr, target string) (int, string) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	require.NoError(t, err)
	defer conn.Close()
	require.NoError(t, conn.SetDeadline(time.Now().Add(10*time.Second)))
	_, err = fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: faultline\r\nConnection: close\r\n\r\n", target)
	require.NoError(t, err)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err)
	return resp.StatusCode, readBody(t, resp)
}

// The build is served from a real directory next to a secret file; no spelling of ".." reaches
// the secret, nor the placeholder (a sibling of dist/).
func TestPathTraversalStaysInDist(t *testing.T) {
	root := t.TempDir()
	const secret = "SECRET-9f8e7d"
	write := func(name, body string) {
		p := filepath.Join(root, filepath.FromSlash(name))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o750))
		require.NoError(t, os.WriteFile(p, []byte(body), 0o600))
	}
	write("secret.txt", secret)
	write("placeholder.html", placeholder)
	write("dist/index.html", indexHTML)
	write("dist/assets/index-3f2a1b.js", appJS)
	require.NoError(t, os.WriteFile(filepath.Join(filepath.Dir(root), "outside-secret.txt"), []byte(secret), 0o600))
	t.Cleanup(func() { _ = os.Remove(filepath.Join(filepath.Dir(root), "outside-secret.txt")) })

	srv := httptest.NewServer(newHandler(os.DirFS(root), discard()))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	for _, target := range []string{
		"/../secret.txt", "/%2e%2e/secret.txt", "/%2E%2E/%2e%2e/outside-secret.txt", "/assets/../../secret.txt",
		"/assets/%2e%2e/%2e%2e/secret.txt", "/..%2fsecret.txt", "/..%5csecret.txt", "/dist/../secret.txt",
		"//secret.txt", "/./../../outside-secret.txt", "/assets/..%2f..%2fsecret.txt", "/secret.txt",
		"/placeholder.html", "/../placeholder.html", "/dist/index.html", "/%00secret.txt",
	} {
		code, body := rawGet(t, addr, target)
		require.NotContains(t, body, secret, target)
		require.NotContains(t, body, placeholder, target)
		// Anything that is not a file of the build is the app (200) or a 4xx.
		require.True(t, code == http.StatusOK && body == indexHTML || code >= 400 && code < 500, "%s: %d %q", target, code, body)
	}
	code, body := rawGet(t, addr, "/assets/index-3f2a1b.js")
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, appJS, body)
}

// Many first requests at once: the file is read and compressed once, and every answer is whole.
func TestConcurrentFirstRequests(t *testing.T) {
	h := newHandler(builtFS(), discard())
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := range 64 {
		wg.Go(func() {
			hdr := map[string]string{}
			if i%2 == 0 {
				hdr["Accept-Encoding"] = "gzip"
			}
			resp := serve(h, http.MethodGet, "/assets/index-3f2a1b.js", hdr)
			b, _ := io.ReadAll(resp.Body)
			body := string(b)
			if resp.Header.Get("Content-Encoding") == "gzip" {
				zr, err := gzip.NewReader(bytes.NewReader(b))
				if err != nil {
					errs <- err
					return
				}
				out, _ := io.ReadAll(zr)
				body = string(out)
			}
			if body != appJS {
				errs <- fmt.Errorf("request %d: %d bytes, want %d", i, len(body), len(appJS))
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
}

// The binary's own embedded files, whatever state ui/static/dist is in.
func TestEmbeddedBuild(t *testing.T) {
	_, err := os.Stat("static/dist/index.html")
	onDisk := err == nil
	require.Equal(t, onDisk, Built(), "Built must agree with static/dist/index.html on disk (rebuild the test after make ui)")

	h := Handler(discard())
	resp := serve(h, http.MethodGet, "/", nil)
	body := readBody(t, resp)
	require.Equal(t, "text/html; charset=utf-8", resp.Header.Get("Content-Type"))
	require.NotEmpty(t, resp.Header.Get("Content-Security-Policy"))
	if onDisk {
		want, err := os.ReadFile("static/dist/index.html")
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Equal(t, string(want), body)
		require.Equal(t, "no-cache", resp.Header.Get("Cache-Control"))
		// Every script the page loads is embedded and served with its immutable policy.
		scripts := 0
		for _, m := range strings.Split(body, `src="`)[1:] {
			src, _, _ := strings.Cut(m, `"`)
			if !strings.HasPrefix(src, "/assets/") {
				continue
			}
			scripts++
			r := serve(h, http.MethodGet, src, map[string]string{"Accept-Encoding": "gzip"})
			_ = readBody(t, r)
			require.Equal(t, http.StatusOK, r.StatusCode, src)
			require.Equal(t, cacheImmutable, r.Header.Get("Cache-Control"), src)
			require.Equal(t, "text/javascript; charset=utf-8", r.Header.Get("Content-Type"), src)
		}
		require.Positive(t, scripts, "index.html loads its bundle from /assets/")
		return
	}
	want, err := os.ReadFile("static/placeholder.html")
	require.NoError(t, err)
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	require.Equal(t, string(want), body)
	require.Contains(t, body, "make build")
}

// Whatever the path, the answer is a file of the build, the app, or an error: never the
// placeholder (outside dist/) and never a panic.
func FuzzPath(f *testing.F) {
	for _, s := range []string{"/", "/assets/index-3f2a1b.js", "/../placeholder.html", "/assets/../../x", "//a", "/api/v1/\x00", "/%2e%2e/"} {
		f.Add(s)
	}
	fsys := builtFS()
	served := map[string]bool{}
	for name, file := range fsys {
		if strings.HasPrefix(name, "dist/") {
			served[string(file.Data)] = true
		}
	}
	h := newHandler(fsys, discard())
	f.Fuzz(func(t *testing.T, p string) {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.URL.Path = p
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		switch w.Code {
		case http.StatusOK:
			require.True(t, served[w.Body.String()], "%q answered %q", p, w.Body.String())
		case http.StatusNotFound:
			require.NotContains(t, w.Body.String(), placeholder)
		default:
			t.Fatalf("%q: status %d", p, w.Code)
		}
	})
}
