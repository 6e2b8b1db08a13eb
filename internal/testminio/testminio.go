// Package testminio starts a real MinIO server on 127.0.0.1 for tests. The
// binary is built once by tools/minio.sh and named by $MASTODON_MINIO
// (`make testacc` sets it).
package testminio

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

// Server is one MinIO process with its own empty data folder.
type Server struct {
	Endpoint  string // http://127.0.0.1:port
	AccessKey string
	SecretKey string
}

// Start starts MinIO for the test and stops it when the test ends. Without
// $MASTODON_MINIO it fails the test, or skips it outside acceptance runs.
func Start(t testing.TB) *Server {
	t.Helper()
	bin := os.Getenv("MASTODON_MINIO")
	if bin == "" {
		if os.Getenv("TF_ACC") == "" {
			t.Skip("needs MinIO: runs in `make testacc`, which builds it and sets MASTODON_MINIO")
		}
		t.Fatal("MASTODON_MINIO must name a MinIO binary (tools/minio.sh builds one); `make testacc` sets it")
	}
	port, console := freePort(t), freePort(t)
	s := &Server{
		Endpoint:  fmt.Sprintf("http://127.0.0.1:%d", port),
		AccessKey: "mastodon-test",
		SecretKey: "mastodon-test-secret-key",
	}
	dir := t.TempDir()
	cmd := exec.Command(bin, "server", "--quiet",
		"--address", fmt.Sprintf("127.0.0.1:%d", port),
		"--console-address", fmt.Sprintf("127.0.0.1:%d", console),
		filepath.Join(dir, "data"))
	cmd.Env = append(os.Environ(),
		"MINIO_ROOT_USER="+s.AccessKey,
		"MINIO_ROOT_PASSWORD="+s.SecretKey,
		"MINIO_BROWSER=off",
		"MINIO_UPDATE=off",
		"MINIO_CI_CD=1",
		"HOME="+dir,
	)
	logFile, err := os.Create(filepath.Join(dir, "minio.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting MinIO: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		_ = logFile.Close()
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(s.Endpoint + "/minio/health/ready")
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s
			}
		}
		if time.Now().After(deadline) {
			out, _ := os.ReadFile(logFile.Name())
			t.Fatalf("MinIO did not become ready on %s within 30s: %v\n%s", s.Endpoint, err, out)
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
