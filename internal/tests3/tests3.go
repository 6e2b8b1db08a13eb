// Package tests3 starts real S3 servers on 127.0.0.1 for tests: MinIO and
// the Versity S3 Gateway (which, unlike MinIO, keeps CORS rules per
// bucket). The binaries are built once by tools/s3server.sh and named by
// $MASTODON_MINIO and $MASTODON_VERSITYGW (`make testacc` sets both).
package tests3

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// Server is one S3 server process with its own empty data folder.
type Server struct {
	Endpoint  string // http://127.0.0.1:port
	AccessKey string
	SecretKey string
}

const (
	accessKey = "mastodon-test"
	secretKey = "mastodon-test-secret-key"
)

// MinIO starts a MinIO server for the test and stops it when the test ends.
func MinIO(t testing.TB) *Server {
	t.Helper()
	bin := binary(t, "MASTODON_MINIO", "minio")
	port, console := freePort(t), freePort(t)
	dir := t.TempDir()
	return start(t, port, "/minio/health/ready", exec.Command(bin, "server", "--quiet",
		"--address", fmt.Sprintf("127.0.0.1:%d", port),
		"--console-address", fmt.Sprintf("127.0.0.1:%d", console),
		filepath.Join(dir, "data")), dir,
		"MINIO_ROOT_USER="+accessKey, "MINIO_ROOT_PASSWORD="+secretKey,
		"MINIO_BROWSER=off", "MINIO_UPDATE=off", "MINIO_CI_CD=1")
}

// VersityGW starts a Versity S3 Gateway over a posix folder (metadata in a
// sidecar folder, so the file system needs no extended attributes).
func VersityGW(t testing.TB) *Server {
	t.Helper()
	bin := binary(t, "MASTODON_VERSITYGW", "versitygw")
	port := freePort(t)
	dir := t.TempDir()
	data, meta := filepath.Join(dir, "data"), filepath.Join(dir, "meta")
	for _, d := range []string{data, meta} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return start(t, port, "/", exec.Command(bin, "--quiet",
		"--access", accessKey, "--secret", secretKey,
		"--port", fmt.Sprintf("127.0.0.1:%d", port),
		"posix", "--sidecar", meta, data), dir)
}

func binary(t testing.TB, env, name string) string {
	t.Helper()
	bin := os.Getenv(env)
	if bin == "" {
		if os.Getenv("TF_ACC") == "" {
			t.Skipf("needs %s: runs in `make testacc`, which builds it and sets %s", name, env)
		}
		t.Fatalf("%s must name a %s binary (tools/s3server.sh %s builds one); `make testacc` sets it", env, name, name)
	}
	return bin
}

// start runs cmd and waits until GET health answers (any status but a
// connection error for "/", 200 otherwise).
func start(t testing.TB, port int, health string, cmd *exec.Cmd, dir string, env ...string) *Server {
	t.Helper()
	s := &Server{Endpoint: fmt.Sprintf("http://127.0.0.1:%d", port), AccessKey: accessKey, SecretKey: secretKey}
	cmd.Env = append(append(os.Environ(), "HOME="+dir), env...)
	logFile, err := os.Create(filepath.Join(dir, "server.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", cmd.Path, err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		_ = logFile.Close()
	})
	deadline := time.Now().Add(30 * time.Second)
	answers := func(path string, ok func(int) bool) bool {
		resp, err := http.Get(s.Endpoint + path)
		if err != nil {
			return false
		}
		_ = resp.Body.Close()
		return ok(resp.StatusCode)
	}
	for {
		healthy := answers(health, func(code int) bool { return health == "/" || code == http.StatusOK })
		// MinIO reports ready a moment before it serves S3 requests (503
		// XMinioServerNotInitialized on a busy machine): an anonymous
		// ListBuckets must be answered (refused, 403) first.
		if healthy && answers("/", func(code int) bool { return code != http.StatusServiceUnavailable }) {
			return s
		}
		if time.Now().After(deadline) {
			out, _ := os.ReadFile(logFile.Name())
			t.Fatalf("%s did not become ready on %s within 30s\n%s", filepath.Base(cmd.Path), s.Endpoint, out)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port
}
